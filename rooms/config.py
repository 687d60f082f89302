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
    live_whep_viewers_per_stream: int = Field(500, ge=0, description="WebRTC (WHEP) viewers of one stream on this node; one more is answered 503 with Retry-After and its page falls back to HLS.")
    live_whep_viewers_per_node: int = Field(2000, ge=0, description="WebRTC (WHEP) viewers of all streams on this node together, beyond which the same 503.")
    live_whep_retry_after_s: int = Field(30, gt=0, description="The Retry-After of a WHEP viewer refused for capacity.")
    live_chat_messages: int = Field(10, ge=1, description="Chat messages one viewer may send in a stream within live_chat_window_s; one more is 429.")
    live_chat_window_s: int = Field(30, gt=0, description="Window of the chat limit.")
    live_likes_per_s: float = Field(2, gt=0, description="Likes one viewer may send a second on this node (a burst of live_likes_burst first); more are 429.")
    live_likes_burst: int = Field(20, ge=1, description="Likes one viewer may send at once before live_likes_per_s holds them.")
    live_likes_flush_s: float = Field(1.0, gt=0, description="A node adds the likes it took to each stream's counter (one UPDATE a stream) this often, and tells the viewers the total.")
    live_presence_s: int = Field(20, gt=0, description="How often the watch page reports that its viewer is still watching (live or replay); a stretch with no report for 2.5 times this has ended.")

    consultation_grace_s: float = Field(120, gt=0, description="A patient waiting in a clinic's queue whose page lost its connection keeps their place this long; then the place lapses.")
    consultation_wait_default_s: int = Field(600, gt=0, description="A clinic's expected length of a consultation until it has ended some (then: the mean of its last 20).")

    live_hls_token_s: int = Field(60, ge=10, description="A stream's HLS token changes this often and is accepted for two periods: a viewer who lost access stops getting playlists and segments within twice this.")
    live_replay_days: float = Field(30, ge=0, description="A livestream's replay is deleted this many days after the stream ended (0: kept until deleted).")

    def worker_count(self) -> int:
        """How many SFU workers this node runs: ``media_workers``, or one per core when it is 0."""
        return self.media_workers or os.cpu_count() or 1
