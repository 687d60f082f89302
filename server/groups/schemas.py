"""Request and response bodies of the groups API."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from server.api import Id, Model, Out
from server.i18n.validation import InvalidValue

UserId = Field(gt=0, lt=2**63)
SeqNumber = Field(ge=0, lt=2**63)


class GroupIn(Model):
    """A new group: from a department (its whole subtree), from a list of people, or both."""

    name: str = Field(min_length=1, max_length=200)
    department_id: int | None = Field(None, gt=0, lt=2**63, description="Everyone in this department and the departments under it joins.")
    member_ids: list[Id] = Field(default_factory=list, max_length=100_000, description="User ids of people in the organisation.")
    allow_guests: bool = False


class GroupPatch(Model):
    name: str | None = Field(None, min_length=1, max_length=200)
    allow_guests: bool | None = None


class MemberIdsIn(Model):
    user_ids: list[Id] = Field(min_length=1, max_length=100_000)


class RoleIn(Model):
    role: Literal["member", "admin", "owner"] = Field(description="'owner' hands the group over; the old owner becomes an admin.")


class MuteIn(Model):
    muted: bool


class GroupOut(Out):
    id: int
    name: str
    last_seq: int
    last_change_seq: int
    member_limit: int
    allow_guests: bool
    external: bool = False  # holds external contacts (server/contacts/)
    kind: Literal["group", "direct"] = Field("group", description="'direct': a chat of two people, named after the other one (``peer_id``).")
    department_id: int | None
    created_by: int | None
    created_at: dt.datetime


class MyGroupOut(Out):
    """A group in the caller's list, with their unread count (``last_seq - read_seq``)."""

    id: int
    name: str = Field(description="A direct chat's is the other person's name.")
    kind: Literal["group", "direct"] = "group"
    peer_id: int | None = Field(None, description="A direct chat's other person.")
    role: str
    muted: bool
    last_seq: int
    last_change_seq: int = Field(description="Sync from here: messages with a higher ``change_seq`` are new or changed.")
    read_seq: int
    unread: int
    unread_mentions: int = Field(description="Unread messages naming the caller, or @all.")


class GroupDetailOut(GroupOut):
    peer_id: int | None = Field(None, description="A direct chat's other person (``name`` is theirs).")
    role: str
    muted: bool
    read_seq: int
    member_count: int


class MemberOut(Out):
    user_id: int
    name: str
    role: str
    muted: bool
    read_seq: int
    joined_at: dt.datetime


class MemberPage(Out):
    members: list[MemberOut]
    next_after_user_id: int | None


class MembersChangedOut(Out):
    added: list[int] = []
    removed: list[int] = []
    member_count: int


class MessageIn(Model):
    body: str = Field(min_length=1, description="Text of the message; its longest length is the server's MUSTER_GROUP_MESSAGE_MAX_CHARS.")
    mentions: list[Id] = Field(default_factory=list, max_length=100, description="User ids of members mentioned with @.")
    mention_all: bool = Field(False, description="@all; by default only group admins may.")
    reply_to_seq: int | None = Field(None, gt=0, lt=2**63, description="The message this one replies to (and quotes).")


class MessageEditIn(Model):
    body: str = Field(min_length=1)


class ReactionIn(Model):
    # An emoji (a sequence of up to a few code points) or a short code: no spaces, no control characters.
    emoji: str = Field(min_length=1, max_length=32, pattern=r"^[^\s\x00-\x1f\x7f]+$")


class QuoteOut(Out):
    seq: int
    sender_id: int | None
    body: str
    recalled: bool


class ReactionOut(Out):
    emoji: str
    count: int
    user_ids: list[int]


class FileOut(Out):
    id: int
    filename: str
    content_type: str
    size: int


class ForwardedFromOut(Out):
    group_id: int
    seq: int
    sender_id: int | None


class MessageOut(Out):
    group_id: int
    seq: int
    change_seq: int = Field(description="The group's change number of this message's latest change (posted, edited, recalled, reacted to).")
    sender_id: int | None
    kind: str
    body: str
    reply_to_seq: int | None
    quote: QuoteOut | None = None
    mentions: list[int]
    mention_all: bool
    file: FileOut | None = None
    reactions: list[ReactionOut] = []
    created_at: dt.datetime
    edited_at: dt.datetime | None
    recalled_at: dt.datetime | None
    forwarded_from: ForwardedFromOut | None = Field(None, description="Where a forwarded message was first posted.")
    duration_ms: int | None = Field(None, description="A voice message's length.")


class ForwardIn(Model):
    """Where to: a group (or direct chat) of the caller's, or a person, whose direct chat with the caller is opened."""

    group_id: int | None = Field(None, gt=0, lt=2**63, description="A group the caller is a member of; the message is posted there as a copy.")
    user_id: int | None = Field(None, gt=0, lt=2**63, description="A person of the organisation: the copy goes to the caller's direct chat with them.")

    @model_validator(mode="after")
    def _one_target(self) -> "ForwardIn":
        if (self.group_id is None) == (self.user_id is None):
            raise InvalidValue("send group_id or user_id, one of them")
        return self


class DirectChatIn(Model):
    user_id: int = Field(gt=0, lt=2**63, description="A person of the organisation other than the caller.")


class HistoryQuery(Model):
    after_seq: int | None = Field(None, ge=0, lt=2**63, description="Messages after this one, oldest first.")
    before_seq: int | None = Field(None, gt=0, lt=2**63, description="The page of messages just before this one (scrolling back).")
    changed_after: int | None = Field(
        None, ge=0, lt=2**63, description="Messages new or changed after this change number, in change order: how a device catches up."
    )
    limit: int = Field(50, ge=1, le=200)

    @model_validator(mode="after")
    def _one_direction(self) -> "HistoryQuery":
        if self.after_seq is not None and self.before_seq is not None and self.before_seq <= self.after_seq + 1:
            raise InvalidValue("before_seq must be greater than after_seq + 1")
        if self.changed_after is not None and self.after_seq is not None:
            raise InvalidValue("send changed_after or after_seq, not both")
        return self


class HistoryOut(Out):
    messages: list[MessageOut]
    last_seq: int = Field(description="The group's newest sequence number when this page was read.")
    last_change_seq: int = Field(description="The group's newest change number when this page was read.")
    has_more: bool


class ReadIn(Model):
    seq: int = SeqNumber


class ReadOut(Out):
    read_seq: int
    unread: int


class ReadersQuery(Model):
    state: Literal["read", "unread"] = "unread"
    after_user_id: int = Field(0, ge=0, lt=2**63)
    limit: int = Field(100, ge=1, le=1000)


class PersonOut(Out):
    user_id: int
    name: str


class ReadersOut(Out):
    """Who has and has not read a message, from the members' read pointers (the sender is left out)."""

    seq: int
    read_count: int
    unread_count: int
    state: str
    members: list[PersonOut]
    next_after_user_id: int | None


class AnnouncementIn(Model):
    body: str = Field(min_length=1)


class AnnouncementOut(Out):
    message: MessageOut
    pinned_by: int | None
    pinned_at: dt.datetime
    opened_count: int
    not_opened_count: int
    opened_by_me: bool


class OpensQuery(Model):
    state: Literal["opened", "not_opened"] = "not_opened"
    after_user_id: int = Field(0, ge=0, lt=2**63)
    limit: int = Field(100, ge=1, le=1000)


class OpensOut(Out):
    seq: int
    opened_count: int
    not_opened_count: int
    state: str
    members: list[PersonOut]
    next_after_user_id: int | None


class SearchQuery(Model):
    q: str = Field(min_length=1, max_length=200)
    group_id: int | None = Field(None, gt=0, lt=2**63)
    limit: int = Field(50, ge=1, le=200)


class SearchHitOut(MessageOut):
    highlights: list[tuple[int, int]] = Field(description="[start, end) character offsets in ``body`` of the words searched for.")


class SearchOut(Out):
    messages: list[SearchHitOut]


class MentionCountOut(Out):
    group_id: int
    unread_mentions: int


class MentionsOut(Out):
    total: int = Field(description="Unread mentions (and @all) in all the caller's groups of this organisation.")
    groups: list[MentionCountOut] = Field(description="Each group with unread mentions, by id.")
