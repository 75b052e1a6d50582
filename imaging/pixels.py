"""Slice pixels in storage: one small .npy file per slice, so serving one slice reads one file."""

import io

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def slice_storage_name(volume_uid, index: int) -> str:
    return f"slices/{volume_uid}/{index:04d}.npy"


def save_slice_pixels(name: str, pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(pixels), allow_pickle=False)
    return default_storage.save(name, ContentFile(buffer.getvalue()))


def load_slice_pixels(name: str) -> np.ndarray:
    with default_storage.open(name, "rb") as handle:
        return np.load(io.BytesIO(handle.read()), allow_pickle=False)


def delete_stored_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
