"""Settings, read once from ``MUSTER_*`` environment variables.

Every default is safe for a single machine: an embedded SQLite file, the
in-process bus, and a secret key generated and kept beside the database.
"""
from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.i18n.time_zones import TimeZone

MIN_SECRET_KEY_CHARS = 32
# Words of placeholders in samples and tutorials, found without case or punctuation ("CHANGE-ME" is "changeme").
# Short placeholders ("secret", "test") fail the length check anyway.
_PLACEHOLDER_WORDS = ("changeme", "replaceme", "changethis", "yoursecret", "secretkeyhere")


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` must not sign anything (anyone could guess it and forge links and meeting tickets), or None if it may."""
    folded = re.sub(r"[^a-z0-9]", "", key.lower())
    if any(word in folded for word in _PLACEHOLDER_WORDS):
        return "MUSTER_SECRET_KEY is still a placeholder from a sample"
    if len(key) < MIN_SECRET_KEY_CHARS:
        return f"MUSTER_SECRET_KEY is {len(key)} characters; it needs at least {MIN_SECRET_KEY_CHARS}"
    return None


class _SecretMark:
    """Metadata of ``SecretSetting``: the field's value is masked wherever settings are printed."""


SECRET = _SecretMark()
SecretSetting = Annotated[str, SECRET]
"""The type of a setting that is a secret or may hold one (keys, tokens, URLs with passwords)."""


class MaskedSettings(BaseSettings):
    """Settings whose ``SecretSetting`` fields print as ``***`` in repr and str, so never in logs or tracebacks.

    The one masking rule of every settings class (the platform's and each capability's).
    """

    def __repr_args__(self):
        fields = type(self).model_fields
        for name, value in super().__repr_args__():
            yield name, ("***" if value and name in fields and SECRET in fields[name].metadata else value)


class Settings(MaskedSettings):
    model_config = SettingsConfigDict(env_prefix="MUSTER_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the embedded database, uploads and the generated secret live.")
    database_url: SecretSetting = Field("", description="SQLAlchemy async URL; empty means sqlite+aiosqlite in data_dir.")
    redis_url: SecretSetting = Field("", description="Redis URL for the bus between nodes; empty means the in-process bus (one node).")
    redis_prefix: str = Field("muster:", description="Prefix of this deployment's Redis channel names, so deployments (or test runs) can share a Redis.")
    secret_key: SecretSetting = Field("", description=f"Signs links and derives keys; at least {MIN_SECRET_KEY_CHARS} characters, and `muster serve` refuses a placeholder. Empty means generated once into data_dir.")
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8080, description="Port to listen on.")
    public_url: str = Field("", description="URL users reach this server at (links, QR codes); empty means http://host:port.")
    node_name: str = Field("", description="Name of this node in logs and metrics; empty means host:port.")
    max_body_bytes: int = Field(1 << 20, description="Largest JSON or form body accepted; larger gets 413.")
    max_import_bytes: int = Field(64 << 20, description="Largest member import file accepted.")
    import_max_rows: int = Field(200_000, ge=1, description="Most rows (below the header) a member import may have.")
    import_max_columns: int = Field(64, ge=1, description="Most columns a member import's sheet may use.")
    import_max_unpacked_bytes: int = Field(128 << 20, ge=1, description="Most bytes an XLSX member import may unpack to (its XML, all parts together).")
    session_days: int = Field(30, description="Days a device session stays valid without use.")
    session_max_days: int = Field(90, ge=1, description="Days after sign-in that a device session ends however much it is used; then the device signs in again.")
    trusted_device_days: int = Field(30, ge=1, le=365, description="Days a device remembered at sign-in (\"remember this device\") may skip the second factor, from when it was remembered.")
    guest_session_hours: int = Field(72, ge=1, le=24 * 30, description="Hours a guest session lasts from when it was opened, however it is used; never past its invite's expiry.")
    login_max_failures: int = Field(5, description="Failed logins allowed per account, and x4 per address, in login_window_s.")
    login_window_s: int = Field(900, description="Window of the login rate limit, in seconds.")
    default_phone_region: str = Field("CN", description="Region used to read phone numbers written without a country code.")
    phone_code_ttl_s: int = Field(300, ge=30, le=3600, description="Seconds a one-time sign-in code sent by SMS stays valid.")
    phone_code_max_attempts: int = Field(5, ge=1, le=20, description="Wrong guesses one sign-in code survives; then it is dead and a new one must be asked for.")
    phone_code_resend_s: int = Field(60, ge=0, description="Seconds before a new sign-in code may be asked for the same number.")
    phone_code_window_s: int = Field(3600, ge=60, description="Window of the limits on asking for sign-in codes, in seconds.")
    phone_codes_per_number: int = Field(5, ge=1, description="Sign-in codes one phone number may be sent in phone_code_window_s, from all organisations together.")
    phone_codes_per_address: int = Field(20, ge=1, description="Sign-in codes one client address (an IPv6 /64) may ask for in phone_code_window_s, for any numbers.")
    phone_codes_per_org: int = Field(2000, ge=1, description="Sign-in codes that may be asked for one organisation's people in phone_code_window_s (SMS also count against its daily allowance).")
    sign_in_link_max_days: int = Field(60, ge=1, le=365, description="Longest a sign-in link (a class invitation, say) may stay valid, in days.")
    default_locale: Literal["zh-CN", "en"] = Field("en", description="Language of texts for a person who chose none and whose client asks for none ('zh-CN' or 'en').")
    default_time_zone: TimeZone = Field("Asia/Shanghai", description="Time zone (IANA name) of a new organisation until its admins choose another.")
    ws_send_queue: int = Field(1024, description="Live events held for one WebSocket while it replays from the database; past this they are read back instead.")
    ws_send_buffer_kb: int = Field(256, description="Unsent kilobytes one WebSocket may have buffered; past this the device is not reading and is disconnected (4008).")
    ws_heartbeat_s: float = Field(20.0, description="Ping interval; a socket that misses a pong is closed.")
    ws_send_threads: int = Field(2, ge=1, le=16, description="Threads writing one fan-out message to this node's sockets while the event loop waits (server/groups/DESIGN.md, Threads).")
    ws_max_frame_kb: int = Field(128, ge=1, description="Largest message a device may send on its WebSocket (a meeting's SDP offer is the largest); larger closes it with 1009.")
    ws_frame_rate: float = Field(20.0, gt=0, description="Tokens a second one WebSocket earns for the frames it sends (a frame costs 1, or more if it goes on to others: server/gateway/budgets.py).")
    ws_frame_burst: int = Field(200, ge=20, description="Tokens one WebSocket may save up; a frame it cannot pay for is refused with a rate_limited error frame.")
    ws_user_frame_rate: float = Field(40.0, gt=0, description="Tokens a second shared by all of one user's WebSockets on this node.")
    ws_user_frame_burst: int = Field(400, ge=20, description="Tokens one user's WebSockets on this node may save up together.")
    ws_flood_refusals: int = Field(100, ge=1, description="Refused frames within 10 s after which a WebSocket is closed with 4029.")
    retention_every_s: float = Field(3600.0, ge=0, description="How often a node tries to run the retention job (pruning old rows: server/retention/); one node at a time runs it, under a lease. 0: never on this node.")
    retention_event_days: int = Field(30, ge=1, description="Days a per-user event is kept for devices to resume from; a device that comes back later is told to resync (a 'resync' frame).")
    retention_events_per_user: int = Field(10_000, ge=100, description="Most recent per-user events kept for each person, whatever their age; older ones are pruned.")
    retention_ended_days: int = Field(30, ge=1, description="Days ended things are kept before they are pruned: expired or signed-out device sessions, expired or withdrawn sign-in links, done escalation steps.")
    retention_batch: int = Field(5000, ge=100, le=100_000, description="Rows the retention job deletes per transaction.")
    retention_pause_ms: float = Field(0.0, ge=0, description="Pause of the retention job between two batches, to leave the database to other work during a long purge.")
    metrics_token: SecretSetting = Field("", description="Bearer token for /metrics; empty means loopback callers only.")
    trusted_proxies: str = Field("", description="Comma-separated addresses or networks of reverse proxies (nginx) whose X-Forwarded-For and X-Forwarded-Proto are believed; empty means none.")
    log_level: str = Field("INFO", description="Python logging level.")
    group_member_limit: int = Field(10_000, description="Most members a group may have; adding more is refused with a clear error.")
    external_contact_limit: int = Field(50_000, ge=1, description="Most external contacts one organisation may have, and the highest cap its admins may set; one more is refused with 409.")
    external_group_member_limit: int = Field(500, ge=2, description="Default member cap of an external group (staff and external contacts); admins may set their organisation's up to MUSTER_GROUP_MEMBER_LIMIT.")
    contact_link_max_days: int = Field(30, ge=1, le=365, description="Longest a contact link may stay valid, in days.")
    group_message_max_chars: int = Field(4000, description="Longest group message text, in characters.")
    group_edit_window_s: int = Field(86_400, description="Seconds after sending during which the sender may edit a group message.")
    group_recall_window_s: int = Field(120, description="Seconds after sending during which the sender may recall a group message.")
    group_mention_all: str = Field("admins", description="Who may @all in a group: 'admins' (group owner and admins) or 'members'.")
    group_push_batch_s: float = Field(60.0, gt=0, description="Web Push of new group messages to members who are away: at most one per group per this many seconds (a mention goes at once).")
    group_push_per_s: float = Field(200.0, gt=0, description="Web Push of group messages one node sends per second at most (its push worker process encrypts and sends them: server/channels/push_worker.py).")
    group_push_engine: bool = Field(True, description="Run the worker that pushes group messages and mentions to members who are away (and sends SMS digests) on this node.")
    sms_digest_s: float = Field(900.0, gt=0, description="SMS digest of unread mentions (organisations that chose it): at most one per person per this many seconds.")
    forms_engine: bool = Field(True, description="Run the forms worker on this node: open rounds and recurrences when due, send due reminders. (Answers past retention are deleted by the retention job, MUSTER_RETENTION_EVERY_S.)")
    forms_push_per_s: float = Field(200.0, gt=0, description="Web Push of form reminders one node sends per second at most.")
    forms_sms_per_s: float = Field(10.0, gt=0, description="SMS of form reminders one node sends per second at most (organisations that chose them; within the SMS allowances).")
    forms_reminder_batch: int = Field(10_000, ge=1, le=50_000, description="Respondents a reminder goes through per transaction.")
    presence_wait_s: float = Field(0.5, gt=0, description="How long a node waits for the other nodes to say which people have a device connected, before pushing to them.")
    org_creation: Literal["operators", "anyone"] = Field(
        "operators", description="Who may create organisations through the API: 'operators' (the accounts listed in MUSTER_OPERATORS) or 'anyone' signed in."
    )
    operators: str = Field("", description="Comma-separated emails of the accounts that run this server (they may create organisations).")
    upload_max_bytes: int = Field(4 << 30, description="Largest file accepted by resumable upload (tus).")
    org_quota_bytes: int = Field(100 << 30, description="Total bytes of files (and uploads in progress) one organisation may store.")
    upload_idle_hours: float = Field(24.0, gt=0, description="Hours an unfinished upload is kept after its last bytes arrived; then it is forgotten and its quota freed.")
    upload_unfinished_per_person: int = Field(10, ge=1, description="Unfinished uploads one person (or guest) may have at once in an organisation.")
    upload_unfinished_bytes_per_person: int = Field(16 << 30, description="Total declared length of one person's unfinished uploads in an organisation (at least upload_max_bytes).")
    guest_upload_max_bytes: int = Field(100 << 20, description="Largest file a guest may upload, and the total declared length of a guest's unfinished uploads.")

    def is_operator(self, email: str | None) -> bool:
        listed = {e.strip().lower() for e in self.operators.split(",") if e.strip()}
        return email is not None and email.lower() in listed

    def resolved(self) -> "Settings":
        """Fill the defaults that depend on data_dir (database file, secret key)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'muster.sqlite3').resolve()}"
        if not self.secret_key:
            key_file = self.data_dir / "secret_key"
            if not key_file.exists():
                key_file.write_text(secrets.token_urlsafe(48))
                key_file.chmod(0o600)
            self.secret_key = key_file.read_text().strip()
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        if not self.node_name:
            self.node_name = f"{self.host}:{self.port}"
        return self
