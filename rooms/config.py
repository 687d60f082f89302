"""rooms' settings, read once from ``MUSTER_ROOMS_*`` environment variables."""
from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RoomsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSTER_ROOMS_", extra="ignore")

    stun_urls: list[str] = Field(default_factory=list, description="STUN URLs handed to clients, e.g. [\"stun:turn.example.org:3478\"].")
    turn_urls: list[str] = Field(default_factory=list, description="TURN URLs handed to clients, e.g. [\"turn:turn.example.org:3478?transport=udp\"].")
    turn_secret: str = Field("", description="coturn's static-auth-secret: signs time-limited TURN credentials (empty: no TURN).")
    turn_ttl_s: int = Field(6 * 3600, gt=0, description="How long a TURN credential handed to a client stays valid.")
    media_workers: int = Field(0, ge=0, description="SFU workers on this node; 0 means one per core.")
    media_processes: bool = Field(True, description="Run SFU workers as separate processes (ProcessRouter), so a meeting uses every core; false runs them inside the server process (LocalRouter: small installs, tests that look inside a worker).")
    media_addresses: list[str] = Field(default_factory=lambda: ["127.0.0.1"], description="Addresses the SFU gathers and announces host candidates on.")
    media_timeout_s: float = Field(8.0, gt=0, description="A participant whose media connection sends nothing (media, RTCP, ICE consent) this long is removed; keep it above 6 s, the longest gap between consent checks.")
    hosting_lease_s: float = Field(15.0, gt=0, description="A node refreshes the meetings it hosts every third of this; a meeting its node has not refreshed this long (the node died) is taken over by the next node someone joins through.")
    passcode_max_failures: int = Field(10, ge=1, description="Wrong passcodes for one meeting from one address (or one signed-in person) within passcode_window_s before that address (or person) is refused for a while.")
    passcode_max_failures_per_meeting: int = Field(100, ge=1, description="Wrong passcodes for one meeting from people not signed in, all addresses together, within passcode_window_s before they are all refused for a while (a bound on guessing from many addresses); signed-in members and the host are never held by it.")
    passcode_window_s: int = Field(300, gt=0, description="Window of the wrong-passcode limit.")
    recording_max_mb: float = Field(2048, gt=0, description="A recording stops by itself before its file grows past this many MiB; the file is finished and plays to the end.")
    live_push_per_s: float = Field(50, gt=0, description="Web Push of a livestream's notice to a group's members who are away: at most this many a second from one node.")
    live_grace_s: float = Field(60, gt=0, description="A livestream whose publisher vanished (its media failed or went quiet) may be published again this long; then it ends.")

    live_webrtc_viewers: int = Field(200, ge=0, description="WHEP viewers of one stream on one node; the next is answered 503 and its page plays HLS instead.")
    live_hls_token_s: int = Field(60, ge=10, description="A stream's HLS token changes this often and is accepted for two periods: a viewer who lost access stops getting playlists and segments within twice this.")
    live_replay_days: float = Field(30, ge=0, description="A livestream's replay is deleted this many days after the stream ended (0: kept until deleted).")

    def worker_count(self) -> int:
        """How many SFU workers this node runs: ``media_workers``, or one per core when it is 0."""
        return self.media_workers or os.cpu_count() or 1
