"""A minimal JPEG lossless (ITU T.81 process 14, first-order prediction) encoder for 16-bit greyscale test data.

No library on PyPI encodes this transfer syntax (1.2.840.10008.1.2.4.70), so the decode path is tested against
this independent writer.
"""

import struct

import numpy as np

# One Huffman table: the 17 difference categories 0..16, all with 5-bit codes 00000..10000 (never all ones).
CODE_LENGTH = 5
CATEGORIES = 17


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", marker, len(payload) + 2) + payload


class _BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.accumulator = 0
        self.count = 0

    def write(self, value: int, bits: int) -> None:
        for shift in range(bits - 1, -1, -1):
            self.accumulator = (self.accumulator << 1) | ((value >> shift) & 1)
            self.count += 1
            if self.count == 8:
                self._emit()

    def _emit(self) -> None:
        self.out.append(self.accumulator)
        if self.accumulator == 0xFF:
            self.out.append(0x00)  # byte stuffing
        self.accumulator = 0
        self.count = 0

    def finish(self) -> bytes:
        if self.count:
            pad = 8 - self.count
            self.accumulator = (self.accumulator << pad) | ((1 << pad) - 1)
            self.count = 8
            self._emit()
        return bytes(self.out)


def encode_jpeg_lossless(image: np.ndarray, precision: int = 16) -> bytes:
    """Encode a 2-D unsigned array (values < 2**precision) with predictor 1 and point transform 0."""
    rows, columns = image.shape
    samples = image.astype(np.int64)
    bits_table = bytes([0] * (CODE_LENGTH - 1) + [CATEGORIES] + [0] * (16 - CODE_LENGTH))
    stream = b"\xff\xd8"
    stream += _segment(0xFFC4, bytes([0x00]) + bits_table + bytes(range(CATEGORIES)))
    stream += _segment(0xFFC3, struct.pack(">BHHB", precision, rows, columns, 1) + bytes([1, 0x11, 0]))
    stream += _segment(0xFFDA, bytes([1, 1, 0x00, 1, 0, 0]))
    writer = _BitWriter()
    modulus = 1 << 16
    for r in range(rows):
        for c in range(columns):
            if r == 0 and c == 0:
                prediction = 1 << (precision - 1)
            elif c == 0:
                prediction = samples[r - 1, 0]
            else:
                prediction = samples[r, c - 1]
            difference = int(samples[r, c] - prediction) % modulus
            if difference >= modulus // 2:
                difference -= modulus
            category = 0 if difference == 0 else abs(difference).bit_length()
            writer.write(category, CODE_LENGTH)
            if 0 < category < 16:
                extra = difference if difference > 0 else difference - 1
                writer.write(extra & ((1 << category) - 1), category)
    return stream + writer.finish() + b"\xff\xd9"
