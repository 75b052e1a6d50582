"""Turning slice pixels into 8-bit images for admin previews. Pure NumPy/Pillow."""

import io

import numpy as np
from PIL import Image


def window_to_uint8(pixels: np.ndarray, *, width: float, level: float) -> np.ndarray:
    low = level - width / 2.0
    scaled = (pixels.astype(np.float32) - low) / max(width, 1e-6)
    return (np.clip(scaled, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def auto_window(pixels: np.ndarray) -> tuple[float, float]:
    """Width/level spanning the 1st..99th percentile: for MRI, whose intensities have no fixed scale."""
    low, high = np.percentile(pixels, [1, 99])
    return max(float(high - low), 1.0), float(low + high) / 2.0


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
