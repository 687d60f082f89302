"""Tables of groups: the group and its sequence, members with their read pointers, messages (files are server/files/).

The costs that matter at 10,000 members are in the shape of these tables:

* ``groups.last_seq`` is the group's message counter. Posting bumps it with
  one ``UPDATE ... RETURNING`` (which also locks the row, so concurrent
  posts get consecutive numbers in commit order) and inserts one message.
  Nothing is written per member.
* ``groups.last_change_seq`` orders every change a device must sync: a
  post, an edit, a recall, a reaction each take the next number, bumped by
  the same kind of ``UPDATE ... RETURNING``, and stamp it on the message
  (``group_messages.change_seq``). "What changed since N" is then an index
  range scan, and message numbers stay gap-free for unread counts.
* ``group_members.read_seq`` is the only read state: one row per member,
  written only when *that* member reads. Unread = ``last_seq - read_seq``;
  "read by" a message is ``read_seq >= seq``, answered from the
  ``(group_id, read_seq)`` index.
* Announcement opens are the one per-person table, and only for pinned
  announcements, which are few.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, ForeignKeyConstraint, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, validates

from server.db import Base, BigId, JSONType, OrgScoped, UTCDateTime, utcnow
from server.groups.cjk import index_terms

GROUP_ROLES = ("member", "admin", "owner")
GROUP_KINDS = ("group", "direct")  # a direct chat: two people of the organisation, one per pair (server/groups/direct.py)
MESSAGE_KINDS = ("text", "image", "file", "announcement")

# Created by the migration outside these models: the full-text index of
# messages (server/groups/search.py); the schema test leaves these names alone.
Base.metadata.info.setdefault("unmodelled", set()).update(
    {"ix_group_messages_body_fts", "group_messages_fts"}
    | {f"group_messages_fts_{shadow}" for shadow in ("data", "idx", "content", "docsize", "config")}
)


class Group(OrgScoped, Base):
    __tablename__ = "groups"
    __table_args__ = (Index("uq_groups_org_direct_key", "org_id", "direct_key", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    member_limit: Mapped[int] = mapped_column()
    allow_guests: Mapped[bool] = mapped_column(Boolean, default=False)
    # Holds external contacts (server/contacts/): a one-to-one chat or an external group; never the organisation's own.
    external: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    kind: Mapped[str] = mapped_column(String(16), default="group", server_default="group")
    # A direct chat's pair, "<lower user id>:<higher user id>": unique in the organisation, so there is one chat per pair.
    direct_key: Mapped[str | None] = mapped_column(String(48))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Telling members who are away (server/groups/notifying.py): the newest message with a mention or @all,
    # how far (and when) the push worker's last whole round got, and how far its mentions rounds got.
    last_mention_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    told_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    mention_told_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    told_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class GroupMember(OrgScoped, Base):
    """A member, their role, and how far they have read (``read_seq``)."""

    __tablename__ = "group_members"
    __table_args__ = (
        Index("ix_group_members_group_read_seq", "group_id", "read_seq"),
        Index("ix_group_members_user_id", "user_id"),
    )

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default="member")  # owner | admin | member
    read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupMessage(OrgScoped, Base):
    """A message, numbered by its group's sequence. A recalled message keeps its number, loses its content.

    ``change_seq`` is the group's change number of its latest change (posted, edited, recalled, reacted to).
    """

    __tablename__ = "group_messages"
    __table_args__ = (
        Index("ix_group_messages_group_change_seq", "group_id", "change_seq"),
        Index("ix_group_messages_mention_all", "group_id", "seq", postgresql_where=text("mention_all"), sqlite_where=text("mention_all")),
    )

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    change_seq: Mapped[int] = mapped_column(BigInteger)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16), default="text")
    body: Mapped[str] = mapped_column(Text, default="")
    cjk_terms: Mapped[str] = mapped_column(Text, default="")  # for search, set with the body (server/groups/cjk.py)
    reply_to_seq: Mapped[int | None] = mapped_column(BigInteger)
    mentions: Mapped[list] = mapped_column(JSONType, default=list)  # user ids
    mention_all: Mapped[bool] = mapped_column(Boolean, default=False)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))  # server/files/models.py
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recalled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    forwarded_from: Mapped[dict | None] = mapped_column(JSONType)  # {"group_id", "seq", "sender_id"} of the original
    duration_ms: Mapped[int | None] = mapped_column()  # a voice message's length

    @validates("body")
    def _index_cjk(self, _key: str, body: str) -> str:
        self.cjk_terms = index_terms(body)
        return body


class GroupMention(OrgScoped, Base):
    """One person named in one message (not for @all, which the message's ``mention_all`` says for everyone).

    Their unread mentions in a group are these rows, and the @all messages,
    above their ``read_seq``: index range scans, whatever the group's size.
    """

    __tablename__ = "group_mentions"
    __table_args__ = (
        ForeignKeyConstraint(["group_id", "seq"], ["group_messages.group_id", "group_messages.seq"], ondelete="CASCADE"),
    )

    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class GroupReaction(OrgScoped, Base):
    __tablename__ = "group_reactions"
    __table_args__ = (
        ForeignKeyConstraint(["group_id", "seq"], ["group_messages.group_id", "group_messages.seq"], ondelete="CASCADE"),
    )

    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(32), primary_key=True)


class GroupAnnouncement(OrgScoped, Base):
    """A pinned announcement: a message of kind ``announcement`` kept at the top until unpinned."""

    __tablename__ = "group_announcements"
    __table_args__ = (
        ForeignKeyConstraint(["group_id", "seq"], ["group_messages.group_id", "group_messages.seq"], ondelete="CASCADE"),
    )

    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    pinned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pinned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnnouncementOpen(OrgScoped, Base):
    """Who opened a pinned announcement; "not opened" is the members without a row here."""

    __tablename__ = "group_announcement_opens"
    __table_args__ = (
        ForeignKeyConstraint(
            ["group_id", "seq"], ["group_announcements.group_id", "group_announcements.seq"], ondelete="CASCADE"
        ),
    )

    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
