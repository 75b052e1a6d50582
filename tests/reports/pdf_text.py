"""The text drawn on the pages of a PDF, whitespace collapsed so that phrases wrapped over two lines still match:
with pypdf when it is installed, else from reportlab's content streams (ASCII85 and Flate decoded, the literal
strings of the Tj operators)."""

import base64
import io
import re
import zlib


def pdf_text(content: bytes) -> str:
    try:
        import pypdf
    except ImportError:
        text = _reportlab_text(content)
    else:
        text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def _unescape(literal: bytes) -> str:
    return re.sub(rb"\\([()\\])", rb"\1", literal).decode("latin-1")


def _reportlab_text(content: bytes) -> str:
    lines = []
    for match in re.finditer(rb"<<(.*?)>>\s*stream\r?\n(.*?)endstream", content, re.S):
        header, stream = match.group(1), match.group(2)
        try:
            if b"ASCII85Decode" in header:
                stream = base64.a85decode(stream.strip().removesuffix(b"~>"))
            if b"FlateDecode" in header:
                stream = zlib.decompress(stream)
        except (ValueError, zlib.error):
            continue
        lines += [_unescape(text) for text in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", stream)]
    return "\n".join(lines)
