"""QR codes of the links people share by showing or printing them (contact links, sign-in links), drawn with segno."""
from __future__ import annotations

import io

import segno
from aiohttp import web


def qr_image(url: str, image_format: str) -> bytes:
    """The QR code of ``url``: SVG to show, PNG to print (error correction M)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind=image_format, scale=8 if image_format == "png" else 4, border=2)
    return out.getvalue()


def qr_response(url: str, image_format: str) -> web.Response:
    """The QR code of ``url`` as a response that is never cached and can run nothing."""
    content_type = "image/svg+xml" if image_format == "svg" else "image/png"
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"}
    return web.Response(body=qr_image(url, image_format), content_type=content_type, headers=headers)
