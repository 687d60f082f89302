"""Receiving import files over HTTP: streamed to disk, never held in memory, size-capped."""
from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from server.errors import InvalidInput, TooLarge

FILE_FIELD = "file"
_CHUNK = 256 * 1024


@contextlib.asynccontextmanager
async def received_file(request: web.Request, *, max_bytes: int) -> AsyncIterator[Path]:
    """The multipart field ``file`` saved to a temporary file, deleted when the block ends."""
    with tempfile.TemporaryDirectory(prefix="muster-import-") as folder:
        files = await save_file_fields(request, Path(folder), max_bytes=max_bytes, max_files=1)
        yield files[0][1]


async def save_file_fields(request: web.Request, folder: Path, *, max_bytes: int, max_files: int) -> list[tuple[str, Path]]:
    """Every multipart field named ``file`` (at most ``max_files``, ``max_bytes`` together) saved in ``folder``;
    each as ``(the name it was sent with, where it is)``. The caller deletes the folder."""
    if not request.content_type.startswith("multipart/"):
        raise InvalidInput("send the file as multipart/form-data in a field named '{file_field}'", field=FILE_FIELD, file_field=FILE_FIELD)
    too_large = TooLarge("the file is larger than the import limit of {max_bytes} bytes", field=FILE_FIELD, max_bytes=max_bytes)
    if request.content_length is not None and request.content_length > max_bytes + 64 * 1024:
        raise too_large
    reader = await request.multipart()
    saved: list[tuple[str, Path]] = []
    size = 0
    while (part := await reader.next()) is not None:
        if getattr(part, "name", None) != FILE_FIELD:
            await part.release()
            continue
        if len(saved) >= max_files:
            raise InvalidInput("send at most {max_files} files", field=FILE_FIELD, max_files=max_files)
        path = folder / f"{len(saved) + 1}.upload"
        with open(path, "wb") as out:
            while chunk := await part.read_chunk(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large
                out.write(chunk)
        saved.append(((part.filename or path.name)[:200], path))
    if not saved:
        raise InvalidInput("the form has no field named '{file_field}'", field=FILE_FIELD, file_field=FILE_FIELD)
    return saved
