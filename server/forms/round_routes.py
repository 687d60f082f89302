"""Rounds API under ``/api/v1/orgs/{org_id}/...``: sending a form, answering it, following it, reminding, exporting;
the organisation's calendar and forms policy."""
from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import select

from server.api import endpoint, path_int
from server.appkeys import DB, SETTINGS
from server.audiences.reach import within
from server.audiences.routes import register_audience_sender
from server.audit.record import do_audit
from server.db import Transaction, utcnow
from server.errors import InvalidInput, NotFound
from server.i18n import request_locale, translate
from server import table_export
from server.forms import dashboard, export, home, personal_data, round_pages
from server.forms.access import builder_reach, check_may_build_forms, check_may_send_to, load_form
from server.forms.calendar import do_set_calendar_days, org_time_zone
from server.forms.live import ROUND_WATCH, RoundWatch
from server.forms.models import (
    CalendarDay,
    FormPolicy,
    FormReminder,
    FormRound,
    FormSubmission,
    RoundSchedule,
)
from server.forms.photos import register_form_photo_readers, register_form_photo_uploaders
from server.forms.privacy import (
    answers_pruning,
    answer_paths,
    bucket_paths,
    check_may_view_answers,
    do_set_policy,
    may_view_answers,
)
from server.forms.reminders import do_remind_now
from server.forms.respondents import answered_in, check_answers_in, offered_kinds, respondent_kind
from server.forms.round_schemas import (
    RespondentKindOut,
    CalendarDayOut,
    CalendarIn,
    CalendarQuery,
    CountsOut,
    DashboardOut,
    DashboardQuery,
    ExportQuery,
    FormPolicyIn,
    FormPolicyOut,
    MineOut,
    NodeOut,
    ReminderOut,
    RemindIn,
    RespondentOut,
    RespondentPage,
    RespondentsQuery,
    RoundDetailOut,
    RoundIn,
    RoundOut,
    RoundPage,
    RoundsQuery,
    ScheduleIn,
    ScheduleOut,
    SubmissionEditIn,
    SubmissionIn,
    SubmissionOut,
)
from server.forms.rounds import (
    do_close_round,
    do_create_round,
    do_create_schedule,
    do_open_if_due,
    do_open_round,
    do_stop_schedule,
    get_form,
    get_round,
)
from server.forms.submissions import (
    definition_of,
    do_edit,
    do_submit,
    get_own_submission,
    get_submission,
    may_read_photos_of,
    round_to_answer,
)
from server.forms.workers import FORMS_WORKER, setup_worker
from server.retention.registry import register_pruning
from server.orgs.access import OrgContext
from server.orgs.models import Organisation
from server.personal_data.parts import register_personal_data

routes = web.RouteTableDef()
ORG = "/api/v1/orgs/{org_id}"
FORM = ORG + "/forms/{form_id}"
ROUND = ORG + "/rounds/{round_id}"


def round_out(r: FormRound) -> RoundOut:
    now = utcnow()
    state = "scheduled" if now < r.opens_at else "open" if now < r.closes_at else "closed"
    return RoundOut(id=r.id, form_id=r.form_id, version_id=r.version_id, schedule_id=r.schedule_id, respondent_kind=r.respondent_kind,
                    opens_at=r.opens_at, closes_at=r.closes_at, opened_at=r.opened_at, expected=r.expected, created_at=r.created_at,
                    state=state, purged=r.purged_at is not None)


def schedule_out(s: RoundSchedule) -> ScheduleOut:
    return ScheduleOut(id=s.id, form_id=s.form_id, respondent_kind=s.respondent_kind, days=s.days,
                       open_time=f"{s.open_minute // 60:02d}:{s.open_minute % 60:02d}", open_minutes=s.open_minutes,
                       remind_after=s.remind_after, starts_on=s.starts_on, ends_on=s.ends_on, next_open_at=s.next_open_at, stopped_at=s.stopped_at)


def counts_out(c: dashboard.Counts) -> CountsOut:
    return CountsOut(expected=c.expected, submitted=c.submitted, missing=c.missing, abnormal=c.abnormal)


# --- sending a form --------------------------------------------------------------------------------------------


@routes.get(ORG + "/respondent-kinds")
@endpoint(response=list[RespondentKindOut])
async def list_respondent_kinds(request: web.Request, org: OrgContext) -> list[RespondentKindOut]:
    """Who a form may be sent to, labelled, with the picker of each kind's units (those who build forms): the send page's choice."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await check_may_build_forms(request.app, tx, org)
    locale = request_locale(request)
    return [RespondentKindOut(kind=name, label=translate(locale, offered.label), picker=offered.picker) for name, offered in offered_kinds().items()]


@routes.post(FORM + "/rounds")
@endpoint(body=RoundIn, response=RoundOut, status=201)
async def create_round(request: web.Request, body: RoundIn, org: OrgContext) -> RoundOut:
    """Send the form's current version to an audience, open from ``opens_at`` (default now) until ``closes_at`` (its author and admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        form = await load_form(request.app, tx, org, path_int(request, "form_id"))
        await check_may_send_to(request.app, tx, org, body.audience.audience())
        opens_at = body.opens_at or utcnow()
        round_ = await do_create_round(tx, form, created_by=org.user_id, audience=body.audience.audience(), kind=body.respondent_kind,
                                       opens_at=opens_at, closes_at=body.closes_at, remind_at=body.remind_at)
        await do_audit(tx, org.principal, "form.round_created", target=("form_round", round_.id),
                       details={"form_id": form.id, "opens_at": opens_at.isoformat(), "closes_at": body.closes_at.isoformat()})
    round_ = await do_open_if_due(request.app[DB], round_)
    request.app[FORMS_WORKER].wake()
    return round_out(round_)


@routes.get(FORM + "/rounds")
@endpoint(query=RoundsQuery, response=RoundPage)
async def list_rounds(request: web.Request, query: RoundsQuery, org: OrgContext) -> RoundPage:
    """The form's rounds, newest first, a page at a time (its author and admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        form = await load_form(request.app, tx, org, path_int(request, "form_id"))
        q = select(FormRound).where(FormRound.form_id == form.id)
        if query.before is not None:
            q = q.where(FormRound.id < query.before)
        found = list(await tx.session.scalars(q.order_by(FormRound.id.desc()).limit(query.limit + 1)))
    more = len(found) > query.limit
    found = found[: query.limit]
    return RoundPage(items=[round_out(r) for r in found], next_before=found[-1].id if more else None)


@routes.post(FORM + "/schedules")
@endpoint(body=ScheduleIn, response=ScheduleOut, status=201)
async def create_schedule(request: web.Request, body: ScheduleIn, org: OrgContext) -> ScheduleOut:
    """Send the form on a recurrence: every day or every working day at a local time (its author and admins)."""
    hours, minutes = map(int, body.open_time.split(":"))
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        form = await load_form(request.app, tx, org, path_int(request, "form_id"))
        await check_may_send_to(request.app, tx, org, body.audience.audience())
        schedule = await do_create_schedule(
            tx, org, form, audience=body.audience.audience(), kind=body.respondent_kind, days=body.days, open_minute=hours * 60 + minutes,
            open_minutes=body.open_minutes, remind_after=body.remind_after, starts_on=body.starts_on, ends_on=body.ends_on,
        )
    request.app[FORMS_WORKER].wake()
    return schedule_out(schedule)


@routes.get(FORM + "/schedules")
@endpoint(response=list[ScheduleOut])
async def list_schedules(request: web.Request, org: OrgContext) -> list[ScheduleOut]:
    """The form's recurrences, running ones first (its author and admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        form = await load_form(request.app, tx, org, path_int(request, "form_id"))
        found = await tx.session.scalars(
            select(RoundSchedule).where(RoundSchedule.form_id == form.id).order_by(RoundSchedule.stopped_at.is_not(None), RoundSchedule.id.desc())
        )
        return [schedule_out(s) for s in found]


@routes.delete(FORM + "/schedules/{schedule_id}")
@endpoint(status=204)
async def stop_schedule(request: web.Request, org: OrgContext) -> None:
    """Stop a recurrence: no more rounds; those already sent stay (its author and admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        form = await load_form(request.app, tx, org, path_int(request, "form_id"))
        schedule = await tx.session.scalar(
            select(RoundSchedule).where(RoundSchedule.id == path_int(request, "schedule_id"), RoundSchedule.form_id == form.id)
        )
        if schedule is None:
            raise NotFound("no such schedule")
        await do_stop_schedule(tx, org, schedule)


@routes.post(ROUND + "/close")
@endpoint(response=RoundOut)
async def close_round(request: web.Request, org: OrgContext) -> RoundOut:
    """Close a round now (its form's author and admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        round_ = await get_round(tx, path_int(request, "round_id"))
        await load_form(request.app, tx, org, round_.form_id)
        await do_close_round(tx, org, round_)
        return round_out(round_)


# --- answering -------------------------------------------------------------------------------------------------


# The routes of respondents (the round, submitting, one's submissions) are open to the organisation's admitted outsiders
# (external=True: a guardian answering for a child), who reach a round only through someone they answer for in it.


@routes.get(ROUND)
@endpoint(response=RoundDetailOut, external=True)
async def get_round_route(request: web.Request, org: OrgContext) -> RoundDetailOut:
    """A round as the fill page shows it: the form, and those the caller answers for with what is stored for each."""
    db = request.app[DB]
    async with db.transaction(org_id=org.org_id) as tx:
        round_ = await get_round(tx, path_int(request, "round_id"))
    round_ = await do_open_if_due(db, round_)
    async with db.transaction(org_id=org.org_id) as tx:
        kind = respondent_kind(round_.respondent_kind)
        mine = await answered_in(tx, org, round_)
        may_follow = bool(await dashboard.visible_paths(tx, org, round_))
        if not mine and not may_follow:
            raise NotFound("no such round")
        described = await kind.describe(tx, mine) if mine else {}
        stored = {s.respondent_id: s for s in await tx.session.scalars(
            select(FormSubmission).where(FormSubmission.round_id == round_.id, FormSubmission.respondent_id.in_(mine))
        )} if mine else {}
        form = await get_form(tx, round_.form_id)
        definition = await definition_of(tx, round_.version_id)
        zone = await tx.session.scalar(select(Organisation.time_zone).where(Organisation.id == org.org_id))
    return RoundDetailOut(
        round=round_out(round_), title=form.title, definition=definition.model_dump(exclude_none=True), time_zone=zone, may_follow=may_follow,
        mine=[MineOut(respondent_id=i, name=described[i].name if i in described else "", submission=SubmissionOut.model_validate(stored[i]) if i in stored else None)
              for i in mine],
    )


@routes.post(ROUND + "/submissions")
@endpoint(body=SubmissionIn, response=SubmissionOut, status=201, external=True, one_transaction=True)
async def submit(request: web.Request, body: SubmissionIn, org: OrgContext, tx: Transaction) -> web.Response:
    """Submit answers for a respondent (default: yourself). The same ``client_id`` and answers again: the stored submission, 200."""
    round_ = await round_to_answer(tx, path_int(request, "round_id"))
    if round_.opened_at is None and round_.opens_at <= utcnow():  # due, and the worker has not opened it yet: open it here
        await do_open_round(tx, round_.id)
        round_ = await round_to_answer(tx, round_.id)
    submission, created = await do_submit(tx, org, round_, respondent_id=body.respondent_id or org.user_id, client_id=body.client_id,
                                          answers=body.answers)
    if created:
        watch = request.app[ROUND_WATCH]

        async def changed() -> None:
            watch.changed(round_.id)

        tx.after_commit(changed)
    return web.json_response(text=SubmissionOut.model_validate(submission).model_dump_json(), status=201 if created else 200)


@routes.get(ROUND + "/submissions/{submission_id}")
@endpoint(response=SubmissionOut, external=True)
async def get_submission_route(request: web.Request, org: OrgContext) -> SubmissionOut:
    """A submission: to those who answer for its respondent, and to those who may see individual answers where it lies (logged)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        round_ = await get_round(tx, path_int(request, "round_id"))
        await check_answers_in(tx, org, round_)
        submission_id = path_int(request, "submission_id")
        try:
            submission = await get_own_submission(tx, org, round_, submission_id)
        except NotFound:
            submission = await get_submission(tx, round_, submission_id)
            await check_may_view_answers(tx, org, round_, submission.respondent_id)
            await do_audit(tx, org.principal, "form.answers_viewed", target=("form_round", round_.id),
                           details={"submission_id": submission.id, "respondent_id": submission.respondent_id})
        return SubmissionOut.model_validate(submission)


@routes.put(ROUND + "/submissions/{submission_id}")
@endpoint(body=SubmissionEditIn, response=SubmissionOut, external=True)
async def edit_submission(request: web.Request, body: SubmissionEditIn, org: OrgContext) -> SubmissionOut:
    """Edit answers until the round closes, naming the revision they replace (an older one is 409)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        round_ = await get_round(tx, path_int(request, "round_id"))
        await check_answers_in(tx, org, round_)
        submission = await do_edit(tx, org, round_, path_int(request, "submission_id"), revision=body.revision, answers=body.answers)
        out = SubmissionOut.model_validate(submission)
    request.app[ROUND_WATCH].changed(round_.id)
    return out


# --- following -------------------------------------------------------------------------------------------------


async def _followed(request: web.Request, tx: Transaction, org: OrgContext) -> tuple[FormRound, list[str]]:
    """The round and the subtrees the caller may see of it; 404 for a round they may not follow."""
    round_ = await get_round(tx, path_int(request, "round_id"))
    visible = await dashboard.visible_paths(tx, org, round_)
    if not visible:
        raise NotFound("no such round")
    return round_, visible


@routes.get(ROUND + "/dashboard")
@endpoint(query=DashboardQuery, response=DashboardOut)
async def get_dashboard(request: web.Request, query: DashboardQuery, org: OrgContext) -> DashboardOut:
    """Expected, submitted, missing and abnormal under a department (default: all the caller may see), and under each of its children."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        round_, visible = await _followed(request, tx, org)
        node, _paths = await dashboard.node_for(tx, visible, query.department_id)
        counts, children = await dashboard.breakdown(tx, round_.id, node, visible)
        form = await get_form(tx, round_.form_id)
        return DashboardOut(
            round=round_out(round_), title=form.title, node=NodeOut(department_id=node.id, name=node.name, counts=counts_out(counts)),
            children=[NodeOut(department_id=n.id, name=n.name, counts=counts_out(c)) for n, c in children],
            may_view_answers=await may_view_answers(tx, org, round_),
        )


@routes.get(ROUND + "/respondents")
@endpoint(query=RespondentsQuery, response=RespondentPage)
async def list_respondents(request: web.Request, query: RespondentsQuery, org: OrgContext) -> RespondentPage:
    """Who is missing (or has submitted) under a department, with their contact phone, by respondent id, a page at a time."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        round_, visible = await _followed(request, tx, org)
        node, paths = await dashboard.node_for(tx, visible, query.department_id)
        page, described, names = await dashboard.respondents_page(tx, round_, node, paths, state=query.state, after=query.after, limit=query.limit)
        counts = await dashboard.node_counts(tx, round_.id, node, paths)
        answers = await answer_paths(tx, org, round_)
        where = await bucket_paths(tx, round_.id, [row[1] for row in page.rows]) if answers and dashboard.ROOT not in answers else {}
    items = []
    for respondent_id, bucket, submitted, abnormal in page.rows:
        who = described.get(respondent_id)
        flagged = dashboard.ROOT in answers or within(where.get(bucket, ""), answers)  # a person's abnormal flag is an answer of theirs
        items.append(RespondentOut(respondent_id=respondent_id, name=who.name if who else "", phone=who.phone if who else None, department_id=bucket,
                                   department=names.get(bucket, ""), submitted=submitted, abnormal=abnormal if flagged else None))
    return RespondentPage(items=items, next_after=page.next_after, counts=counts_out(counts))


@routes.post(ROUND + "/reminders")
@endpoint(body=RemindIn, response=ReminderOut, status=202)
async def remind_the_rest(request: web.Request, body: RemindIn, org: OrgContext) -> ReminderOut:
    """Remind everyone under a department (default: all the caller may see) who has not submitted yet; sent at once, each person once."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        round_, visible = await _followed(request, tx, org)
        node, _paths = await dashboard.node_for(tx, visible, body.department_id)
        if node.id is None and dashboard.ROOT not in visible:
            if len(visible) != 1:
                raise InvalidInput("choose which of your departments to remind", field="department_id")
            node, _paths = await dashboard.node_for(tx, visible, await tx.session.scalar(
                select(dashboard.Department.id).where(dashboard.Department.path == visible[0])))
        reminder = await do_remind_now(tx, org, round_, node.id)
        await do_audit(tx, org.principal, "form.reminder_sent", target=("form_round", round_.id), details={"department_id": node.id})
        out = ReminderOut.model_validate(reminder)
    request.app[FORMS_WORKER].wake()
    return out


@routes.get(ROUND + "/reminders")
@endpoint(response=list[ReminderOut])
async def list_reminders(request: web.Request, org: OrgContext) -> list[ReminderOut]:
    """The round's reminders, scheduled and sent, with how many people each told."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        round_, _ = await _followed(request, tx, org)
        found = await tx.session.scalars(select(FormReminder).where(FormReminder.round_id == round_.id).order_by(FormReminder.due_at, FormReminder.id))
        return [ReminderOut.model_validate(r) for r in found]


@routes.get(FORM + "/export")
@endpoint(query=ExportQuery)
async def export_submissions(request: web.Request, query: ExportQuery, org: OrgContext) -> web.StreamResponse:
    """The submissions of a round, of the rounds opened in a date range, or of all the form's rounds, as CSV (streamed) or XLSX
    (those who may see answers; logged)."""
    db = request.app[DB]
    async with db.transaction(org_id=org.org_id) as tx:
        form = await get_form(tx, path_int(request, "form_id"))
        q = select(FormRound).where(FormRound.form_id == form.id)
        zone = await org_time_zone(tx)
        if query.round_id is not None:
            q = q.where(FormRound.id == query.round_id)
        elif query.first_day is not None or query.last_day is not None:
            if query.first_day is None or query.last_day is None or query.last_day < query.first_day or (query.last_day - query.first_day).days > 366:
                raise InvalidInput("a date range needs a first and a last day, in that order, at most a year apart", field="last_day")
            start = dt.datetime.combine(query.first_day, dt.time(), zone)
            q = q.where(FormRound.opens_at >= start, FormRound.opens_at < start + dt.timedelta(days=(query.last_day - query.first_day).days + 1))
        rounds = list(await tx.session.scalars(q.order_by(FormRound.opens_at)))
        if query.round_id is not None and not rounds:
            raise NotFound("no such round")
        if not org.is_admin and not rounds:
            raise NotFound("no such round")
        within_paths = {round_.id: await check_may_view_answers(tx, org, round_) for round_ in rounds}
        if request.method == "HEAD":  # what a GET would answer, without the export (nor its entry in the log)
            return web.Response(content_type="text/csv" if query.format == "csv" else export.XLSX_TYPE)
        limited = sorted({p for paths in within_paths.values() for p in paths} - {dashboard.ROOT})
        await do_audit(tx, org.principal, "form.answers_exported", target=("form", form.id),
                       details={"format": query.format, "rounds": [r.id for r in rounds][:100], **({"within": limited[:20]} if limited else {})})
    plan = await export.plan_export(db, org.org_id, rounds, zone, within_paths)
    filename = f"form-{form.id}" + (f"-round-{query.round_id}" if query.round_id else f"-{query.first_day}-{query.last_day}" if query.first_day else "")
    if query.format == "csv":
        return await table_export.stream_csv(request, plan.header, export.rows(db, plan), filename)
    return await table_export.send_xlsx(request, plan.header, export.rows(db, plan), request.app[SETTINGS].data_dir / "tmp", filename, "submissions")


# --- the organisation's calendar and policy --------------------------------------------------------------------


@routes.get(ORG + "/calendar")
@endpoint(query=CalendarQuery, response=list[CalendarDayOut])
async def get_calendar(request: web.Request, query: CalendarQuery, org: OrgContext) -> list[CalendarDayOut]:
    """The year's holidays and make-up working days that recurrences on working days follow."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        found = await tx.session.scalars(select(CalendarDay).where(CalendarDay.day >= dt.date(query.year, 1, 1), CalendarDay.day <= dt.date(query.year, 12, 31))
                                         .order_by(CalendarDay.day))
        return [CalendarDayOut.model_validate(d) for d in found]


@routes.put(ORG + "/calendar")
@endpoint(body=CalendarIn, response=list[CalendarDayOut], role="admin")
async def set_calendar(request: web.Request, body: CalendarIn, org: OrgContext) -> list[CalendarDayOut]:
    """Set or clear days of the calendar (admins); running recurrences follow at once."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_set_calendar_days(tx, [(d.day, d.kind, d.name) for d in body.days])
        await do_audit(tx, org.principal, "calendar.changed", details={"days": len(body.days)})
        days = sorted({d.day for d in body.days})
        found = await tx.session.scalars(select(CalendarDay).where(CalendarDay.day.in_(days)).order_by(CalendarDay.day))
        return [CalendarDayOut.model_validate(d) for d in found]


@routes.get(ORG + "/form-policy")
@endpoint(response=FormPolicyOut, role="admin")
async def get_form_policy(request: web.Request, org: OrgContext) -> FormPolicyOut:
    """How long answers are kept, and whether reminders go by SMS (admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        policy = await tx.session.scalar(select(FormPolicy))
    return FormPolicyOut(retention_days=policy.retention_days if policy else None, reminder_sms=policy.reminder_sms if policy else False)


@routes.put(ORG + "/form-policy")
@endpoint(body=FormPolicyIn, response=FormPolicyOut, role="admin")
async def set_form_policy(request: web.Request, body: FormPolicyIn, org: OrgContext) -> FormPolicyOut:
    """Set how long answers are kept after their round closed, and SMS reminders (admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        policy = await do_set_policy(tx, org, retention_days=body.retention_days, reminder_sms=body.reminder_sms)
        return FormPolicyOut(retention_days=policy.retention_days, reminder_sms=policy.reminder_sms)


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
    register_audience_sender(app, builder_reach(app))
    register_form_photo_readers(app, may_read_photos_of)
    register_form_photo_uploaders(app, home.answers_in_an_open_round)
    register_personal_data(app, personal_data.PART)
    app[ROUND_WATCH] = RoundWatch(app)
    app[ROUND_WATCH].attach()
    setup_worker(app)
    register_pruning(app, answers_pruning(app[SETTINGS]))
    round_pages.setup(app)
    home.setup(app)
