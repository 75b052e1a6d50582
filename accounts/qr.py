"""QR codes drawn on the server as inline SVG (segno): the enrolment page loads nothing from elsewhere."""

import io

import segno


def qr_svg(text: str) -> str:
    """An SVG element (no XML declaration) encoding `text`, scaled by its viewBox."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(
        buffer,
        kind="svg",
        scale=4,
        border=2,
        xmldecl=False,
        svgns=True,
        nl=False,
        title="QR code",
        svgclass="qr",
    )
    return buffer.getvalue().decode("utf-8")
