"""``muster serve`` refuses a secret key anyone could guess, and starts with a real one."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from server.config import secret_key_problem
from tests import services


def serve(tmp_path, secret_key: str) -> subprocess.CompletedProcess:
    env = os.environ | {"MUSTER_DATA_DIR": str(tmp_path), "MUSTER_SECRET_KEY": secret_key}
    return subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", str(services.free_port())],
        env=env, cwd=services.REPO, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("key", ["CHANGE-ME", "changeme", "secret", "CHANGE-ME-same-as-MUSTER_ROOMS_TURN_SECRET", "x" * 31])
def test_a_placeholder_or_short_secret_key_is_a_problem(key):
    assert secret_key_problem(key) is not None


def test_a_generated_secret_key_is_fine(tmp_path):
    from server.config import Settings

    generated = Settings(data_dir=tmp_path).resolved().secret_key
    assert secret_key_problem(generated) is None


@pytest.mark.parametrize("key", ["CHANGE-ME", "too-short-a-secret"])
def test_serve_with_a_placeholder_or_short_secret_key_exits_with_a_clear_message(tmp_path, key):
    result = serve(tmp_path, key)

    assert result.returncode != 0
    assert "refusing to start" in result.stderr and "MUSTER_SECRET_KEY" in result.stderr
    assert key not in result.stderr  # the message says what is wrong, not the key itself


async def test_serve_with_a_long_random_secret_key_starts(tmp_path):
    env = os.environ | {"MUSTER_DATA_DIR": str(tmp_path), "MUSTER_SECRET_KEY": services.NODES_SECRET_KEY}
    process = await services.start_muster_server(env, services.free_port())
    process.terminate()
    await process.wait()
