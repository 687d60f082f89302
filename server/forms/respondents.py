"""Who answers a round: kinds of respondent, the default one (a member answering for themselves) and those capabilities add.

A kind says, for its respondents:

* ``expand(tx, audience)``: a select of ``(respondent id, bucket)`` for everyone the audience covers, each
  once, of the transaction's organisation only. The bucket is the department the answer counts under in
  roll-ups (a member's department, a student's class; 0 for none). It is a select, not rows, so that
  opening a round is one ``INSERT ... SELECT`` in the database: 480,000 respondents never pass through Python.
* ``answerable(tx, org, ids)``: which of these respondents the caller may submit for (a member: only
  themselves; a student: their guardians, and teachers of the class for a family without a phone).
* ``own(tx, org)``: the respondents the caller answers for, shown on the fill page.

  The caller may be an outsider of the organisation (``org.membership_id`` None: a guardian, admitted on the
  respondents' routes, server/orgs/access.py): the kind alone says whom they answer for, and for whom nobody
  is 404 everywhere.
* ``reminded(respondents)``: the people to remind for the respondents ``respondents`` selects (one column of
  respondent ids), as a select of ``(user_id, respondent_id)``: the reminder joins it in the database with who
  is connected and who was told already, so a city's 240,000 children never pass through Python.
* ``describe(tx, ids)``: name and contact phone of each, for the missing list and exports.
* ``phones(tx, user_ids)``: the numbers of people it reminds, for reminders by SMS.

Capabilities register theirs at import with ``register_respondent_kind("student", Students(), _("Children"), picker="schools")``:
a label for the send page, and the audience picker (server/audiences/pickers.py) whose units a round to them names as
``department_ids``, a level at a time within the sender's reach (None: the page offers the organisation's departments).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from sqlalchemy import ColumnElement, Select, and_, func, select

from server.audiences.expand import Audience, resolve_audience
from server.db import Transaction
from server.db.one_of import one_of, rows_where_one_of
from server.errors import InvalidInput, NotFound
from server.forms.models import FormRound, RoundRespondent
from server.i18n import _
from server.orgs.access import OrgContext
from server.orgs.models import Membership

USER = "user"


class Described(NamedTuple):
    name: str
    phone: str | None


def audience_json(audience: Audience) -> dict:
    """An audience as a round keeps it (``form_rounds.audience``)."""
    return {"parts": {k: sorted(set(v)) for k, v in audience.parts.items() if v}, "everyone": audience.everyone}


def audience_from_json(data: dict) -> Audience:
    return Audience({k: list(v) for k, v in data.get("parts", {}).items()}, bool(data.get("everyone")))


class RespondentKind(Protocol):
    async def expand(self, tx: Transaction, audience: Audience) -> Select: ...

    async def answerable(self, tx: Transaction, org: OrgContext, respondent_ids: Sequence[int]) -> set[int]: ...

    async def own(self, tx: Transaction, org: OrgContext) -> list[int]: ...

    def reminded(self, respondents: Select) -> Select: ...

    async def describe(self, tx: Transaction, respondent_ids: Sequence[int]) -> dict[int, Described]: ...

    def name_of(self, tx: Transaction, respondent_id: ColumnElement[int]) -> ColumnElement[str]:
        """The name of the respondent ``respondent_id`` holds, as a column of the statement that has it (a correlated
        subquery of table columns, scoped to the organisation): how an export names every row without a query per page."""
        ...

    def submitter_name_of(self, tx: Transaction, user_id: ColumnElement[int], respondent_id: ColumnElement[int]) -> ColumnElement[str]:
        """The name of who submitted (``user_id``) for the respondent, as the organisation knows them, like ``name_of``:
        the directory's name of a member, and whatever the kind's own records call the outsiders who answer."""
        ...

    async def phones(self, tx: Transaction, user_ids: Sequence[int]) -> dict[int, str]: ...


async def audience_members(tx: Transaction, audience: Audience) -> ColumnElement[bool]:
    """The members an audience covers (server/audiences/), as one condition on ``Membership`` of the transaction's
    organisation. An id that names nothing there is bad input naming its part: a round must not quietly miss people."""
    resolved = await resolve_audience(tx, audience)
    for kind, unknown in resolved.unknown.items():
        if unknown:
            raise InvalidInput("no such {kind} in this organisation: {ids}", field=f"audience.{kind}", kind=kind, ids=", ".join(map(str, unknown[:10])))
    return and_(Membership.org_id == tx.org_id, resolved.where)  # explicit: an INSERT ... SELECT gets no tenant filter of its own


class Members:
    """The default kind: a member of the organisation answers for themselves; the bucket is their department."""

    async def expand(self, tx: Transaction, audience: Audience) -> Select:
        return select(Membership.user_id, func.coalesce(Membership.department_id, 0)).where(await audience_members(tx, audience))

    async def answerable(self, tx: Transaction, org: OrgContext, respondent_ids: Sequence[int]) -> set[int]:
        return set(await self.own(tx, org)) & set(respondent_ids)

    async def own(self, tx: Transaction, org: OrgContext) -> list[int]:
        return [org.user_id] if org.membership_id is not None else []

    def reminded(self, respondents: Select) -> Select:
        chosen = respondents.subquery()
        return select(chosen.c[0].label("user_id"), chosen.c[0].label("respondent_id"))

    def name_of(self, tx: Transaction, respondent_id: ColumnElement[int]) -> ColumnElement[str]:
        return directory_name_of(tx, respondent_id, "respondent")

    def submitter_name_of(self, tx: Transaction, user_id: ColumnElement[int], respondent_id: ColumnElement[int]) -> ColumnElement[str]:
        return directory_name_of(tx, user_id, "submitter")

    async def describe(self, tx: Transaction, respondent_ids: Sequence[int]) -> dict[int, Described]:
        found: dict[int, Described] = {}
        for chosen in one_of(tx, Membership.user_id, respondent_ids):
            rows = await tx.session.execute(select(Membership.user_id, Membership.display_name, Membership.phone).where(chosen))
            found.update({user_id: Described(name, phone) for user_id, name, phone in rows})
        return found

    async def phones(self, tx: Transaction, user_ids: Sequence[int]) -> dict[int, str]:
        return with_phones(await rows_where_one_of(tx, select(Membership.user_id, Membership.phone), Membership.user_id, user_ids))


def directory_name_of(tx: Transaction, user_id: ColumnElement[int], alias: str) -> ColumnElement[str]:
    """The directory's name of the member ``user_id`` holds (a correlated subquery; NULL for someone not a member)."""
    m = Membership.__table__.alias(alias)
    return select(m.c.display_name).where(m.c.org_id == tx.org_id, m.c.user_id == user_id).scalar_subquery()


def with_phones(rows) -> dict[int, str]:
    """``{user id: phone}`` of ``(user id, phone)`` rows, leaving out those without one."""
    return {user_id: phone for user_id, phone in rows if phone}


@dataclass(frozen=True)
class Offered:
    """How the send page offers a kind: its label (an English msgid) and the audience picker of its units, if any."""

    label: str
    picker: str | None = None


_kinds: dict[str, RespondentKind] = {USER: Members()}
_offered: dict[str, Offered] = {USER: Offered(_("Members"))}


def register_respondent_kind(name: str, kind: RespondentKind, label: str, *, picker: str | None = None) -> None:
    """Add a kind of respondent (a capability's, at import, once per process), labelled ``label`` (an English msgid)
    on the send page, which picks its audience's units with the audience picker ``picker``."""
    known = _kinds.get(name)
    if known is not None and type(known) is not type(kind):
        raise ValueError(f"respondent kind {name!r} is already registered")
    _kinds[name] = kind
    _offered[name] = Offered(label, picker)


def offered_kinds() -> dict[str, Offered]:
    """Every kind of respondent with how the send page offers it, the members first."""
    return dict(_offered)


def respondent_kind(name: str) -> RespondentKind:
    kind = _kinds.get(name)
    if kind is None:
        raise InvalidInput("no such kind of respondent: {kind}", field="respondent_kind", kind=name)
    return kind


async def answered_in(tx: Transaction, org: OrgContext, round_: FormRound) -> list[int]:
    """The respondents of the round the caller answers for (none before it opens), by id."""
    found: list[int] = []
    for chosen in one_of(tx, RoundRespondent.respondent_id, await respondent_kind(round_.respondent_kind).own(tx, org)):
        found += await tx.session.scalars(select(RoundRespondent.respondent_id).where(RoundRespondent.round_id == round_.id, chosen))
    return sorted(found)


async def check_answers_in(tx: Transaction, org: OrgContext, round_: FormRound) -> None:
    """An outsider of the organisation (a guardian) reaches a round only through someone they answer for in it:
    otherwise it is 404 whatever its state, so they learn nothing of the organisation's other rounds."""
    if org.membership_id is None and not await answered_in(tx, org, round_):
        raise NotFound("no such round")
