"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).

Hashing runs on threads of its own (argon2 releases the GIL while it works),
not on the default pool: a sign-in never waits behind other requests' thread
work, such as a member import.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import InvalidInput

_hasher = PasswordHasher()
# Verified when the account does not exist, so a missing account takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("muster-dummy-password")

MIN_LENGTH = 8
HASHING_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="password-hash")


def check_new_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput("password must be at least {min_length} characters", field="password", min_length=MIN_LENGTH)
    if len(password) > 1024:
        raise InvalidInput("password is longer than 1024 characters", field="password")


async def hash_password(password: str) -> str:
    # Hashing takes ~50 ms of CPU: off the event loop so other requests keep flowing.
    return await asyncio.get_running_loop().run_in_executor(HASHING_THREADS, _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.get_running_loop().run_in_executor(HASHING_THREADS, verify)
