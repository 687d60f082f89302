"""How schools/ plugs into the platform (see server/capabilities.py).

Adds the hierarchy's API (units, students, guardians, scoped roles, class groups,
imports and the school year's rollover), the import page (a section of the
organisation's settings, schools/pages.py), what it holds about a member
(schools/personal_data.py), admits guardians into the bureau's
organisation as outsiders (schools/outsiders.py) who sign in with their phone
(schools/phone_sign_in.py), its families and staff as audiences that its staff send to
(schools/audiences.py), the ``student`` respondent kind and who builds forms, follows rounds and sees answers
in the hierarchy (schools/respondents.py, schools/form_roles.py), ends a leaver's scoped roles
(schools/revocation.py), the ``muster schools import`` command, and its part of
``muster demo``. See schools/DESIGN.md.
"""
from pathlib import Path

from aiohttp import web

from server.capabilities import Capability


def setup(app: web.Application) -> None:
    from schools import audiences, outsiders, pages, personal_data, phone_sign_in, revocation, routes  # noqa: F401  (these register themselves)
    from schools import form_roles, respondents  # noqa: F401  (respondents registers itself)
    from schools.imports import routes as import_routes
    from schools.config import SchoolsSettings
    from schools.jobs import stop_jobs
    from schools.keys import JOB_TASKS, SCHOOLS_SETTINGS

    app[SCHOOLS_SETTINGS] = SchoolsSettings()
    app[JOB_TASKS] = set()
    from server.personal_data.parts import register_personal_data

    app.router.add_routes(routes.routes)
    app.router.add_routes(import_routes.routes)
    register_personal_data(app, personal_data.PART)
    audiences.setup(app)
    pages.setup(app)
    form_roles.setup(app)
    app.on_shutdown.append(stop_jobs)


def cli(sub) -> None:
    from schools.imports.command import add_command

    add_command(sub)


capability = Capability(
    name="schools",
    setup=setup,
    models="schools.models",
    migrations=Path(__file__).parent / "migrations",
    cli=cli,
    locales=Path(__file__).parent / "locales",
    demo="schools.demo",
)
