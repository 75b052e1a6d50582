"""Slice pixels in storage: one small .npy file per slice, so serving one slice reads one file."""

import io
import threading

import numpy as np
from django.core.files.storage import default_storage

from storage import store_file


def slice_storage_name(volume_uid, index: int) -> str:
    return f"slices/{volume_uid}/{index:04d}.npy"


def save_slice_pixels(name: str, pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(pixels), allow_pickle=False)
    return store_file(name, buffer.getvalue())


# np.load parses the .npy header with ast.literal_eval, and CPython 3.11 can raise a spurious
# "SystemError: AST constructor recursion depth mismatch" when two threads do that at once (CPython gh-106905).
# Reading the file stays outside the lock; only the in-memory parse is serialised.
_NPY_PARSE_LOCK = threading.Lock()


def load_slice_pixels(name: str) -> np.ndarray:
    with default_storage.open(name, "rb") as handle:
        data = handle.read()
    with _NPY_PARSE_LOCK:
        return np.load(io.BytesIO(data), allow_pickle=False)
