"""Thumbnails of images, made with Pillow on the first request and kept beside the file until it is deleted.

A thumbnail is derived from its file and served by the same route rules
(``GET .../files/{file_id}/thumbnail`` answers exactly who may read the file),
so it needs no owner or quota of its own; ``do_delete_file`` removes it with
the file. Made lazily, so an upload finishes as fast as before and images
never looked at cost nothing. An image of more than ``MAX_PIXELS`` (a
decompression bomb: a small file that decodes to gigabytes) has no thumbnail;
its size is read from the header before anything is decoded.
"""
from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

from PIL import Image, ImageOps

from server.config import Settings
from server.files.models import StoredFile
from server.files.storage import files_dir, thumbnail_path

THUMBNAIL_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
THUMBNAIL_BOX = (320, 320)
MAX_PIXELS = 50_000_000


async def thumbnail(settings: Settings, file: StoredFile) -> Path | None:
    """The file's thumbnail (a JPEG), made now if it was not yet; None if the file is not an image Pillow can read."""
    if file.content_type not in THUMBNAIL_TYPES:
        return None
    path = thumbnail_path(settings, file.storage_key)
    if path.exists():
        return path
    return await asyncio.to_thread(_make, files_dir(settings) / file.storage_key, path)


def _make(source: Path, target: Path) -> Path | None:
    try:
        with Image.open(source) as image:  # reads the header only
            if image.width * image.height > MAX_PIXELS:
                return None
            image.thumbnail(THUMBNAIL_BOX)  # reduces while decoding where the format allows (JPEG draft mode)
            small = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{secrets.token_hex(4)}.part")
    small.save(partial, "JPEG", quality=80)
    os.replace(partial, target)  # two requests at once: each writes its own, the last rename wins, both whole
    return target
