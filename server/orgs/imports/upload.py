"""Receiving an import file over HTTP: streamed to a temporary file, never held in memory, size-capped."""
from __future__ import annotations

import contextlib
import os
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
    if not request.content_type.startswith("multipart/"):
        raise InvalidInput("send the file as multipart/form-data in a field named '{file_field}'", field=FILE_FIELD, file_field=FILE_FIELD)
    too_large = TooLarge("the file is larger than the import limit of {max_bytes} bytes", field=FILE_FIELD, max_bytes=max_bytes)
    if request.content_length is not None and request.content_length > max_bytes + 64 * 1024:
        raise too_large
    reader = await request.multipart()
    fd, name = tempfile.mkstemp(prefix="muster-import-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            if not await _copy_file_field(reader, out, max_bytes, too_large):
                raise InvalidInput("the form has no field named '{file_field}'", field=FILE_FIELD, file_field=FILE_FIELD)
        yield path
    finally:
        path.unlink(missing_ok=True)


async def _copy_file_field(reader, out, max_bytes: int, too_large: TooLarge) -> bool:
    while (part := await reader.next()) is not None:
        if getattr(part, "name", None) != FILE_FIELD:
            await part.release()
            continue
        size = 0
        while chunk := await part.read_chunk(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise too_large
            out.write(chunk)
        return True
    return False
