"""The home page's forms section: rounds open now that the person has yet to fill in (for themselves, or for those they answer for).

It is open to the organisation's admitted outsiders (a guardian answering for a child): the respondent kinds say whom anyone answers for.
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.db import Transaction, utcnow
from server.forms.models import Form, FormRound, RoundRespondent
from server.forms.respondents import respondent_kind
from server.i18n import _, translate
from server.orgs.access import OrgContext
from server.web.home import HomeItem, HomeSection, register_home_section

SHOWN = 8
CLOSES = _("Closes")  # followed on the page by when


async def open_rounds_answered(tx: Transaction, org: OrgContext, *, unanswered: bool, limit: int) -> list:
    """Rounds open now in which the caller answers for someone (``unanswered``: someone yet to submit), soonest closing first:
    ``(round id, title, closes_at)``. Open rounds are few at any time: read them first, then the caller's rows in them by primary key."""
    now = utcnow()
    open_rounds = (await tx.session.execute(
        select(FormRound.id, FormRound.respondent_kind, FormRound.closes_at, Form.title).join(Form, Form.id == FormRound.form_id)
        .where(FormRound.opens_at <= now, FormRound.closes_at > now, FormRound.opened_at.is_not(None))
        .order_by(FormRound.closes_at).limit(200)
    )).all()
    own: dict[str, list[int]] = {}
    found = []
    for round_id, kind, closes_at, title in open_rounds:
        if kind not in own:
            own[kind] = await respondent_kind(kind).own(tx, org)
        if not own[kind]:
            continue
        mine = select(RoundRespondent.respondent_id).where(RoundRespondent.round_id == round_id, RoundRespondent.respondent_id.in_(own[kind]))
        if await tx.session.scalar((mine.where(RoundRespondent.submitted.is_(False)) if unanswered else mine).limit(1)) is not None:
            found.append((round_id, title, closes_at))
        if len(found) == limit:
            break
    return found


async def forms_to_fill(tx: Transaction, org: OrgContext, locale: str) -> list[HomeItem]:
    return [HomeItem(title=title, detail=translate(locale, CLOSES), href=f"/f/{round_id}?org={org.org_id}", at=closes_at, urgent=True)
            for round_id, title, closes_at in await open_rounds_answered(tx, org, unanswered=True, limit=SHOWN)]


async def answers_in_an_open_round(tx: Transaction, org: OrgContext) -> bool:
    """For photo uploads by outsiders (server/forms/photos.py): someone who answers for a respondent of a round open now."""
    return bool(await open_rounds_answered(tx, org, unanswered=False, limit=1))


def setup(app: web.Application) -> None:
    register_home_section(app, HomeSection("forms", _("Forms to fill in"), 15, forms_to_fill, empty=_("Nothing to fill in now."), outsiders=True))
