"""Smoke test of the Janus side-by-side bench's setup: namespace, Janus with the bench's own config, a VideoRoom room.

The load itself takes a minute and is the bench's job; this checks in seconds
that the pieces it stands on work on this machine and are cleaned up. It needs
root and the Debian ``janus`` package (a benchmark's tools, not a service the
suite requires), so it is skipped without them.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import janus_videoroom  # noqa: E402


async def test_janus_runs_in_a_namespace_with_a_videoroom_room_and_is_cleaned_up():
    reason = janus_videoroom.unavailable()
    if reason:
        pytest.skip(reason)
    with janus_videoroom.Namespace() as ns:
        async with aiohttp.ClientSession() as http, janus_videoroom.janus_server(ns, http) as janus:
            session = janus_videoroom.JanusSession(http, janus.url)
            await session.create()
            try:
                await janus_videoroom.create_room(session, publishers=2)
                counters = await janus.admin.counters()
            finally:
                await session.close()
            assert janus.info["version_string"].startswith("1.1")
            assert "janus.plugin.videoroom" in janus.info["plugins"]
            assert list(janus.info["plugins"]) == ["janus.plugin.videoroom"]  # the bench's config loads nothing else
            assert counters == {"server_sent": 0, "janus_handles": {"none": 1}}  # our control handle, in no room role
        assert janus.process.returncode is not None
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert ns.name not in namespaces
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout
    assert ns.host_interface not in links
