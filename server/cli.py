"""The ``muster`` command: serve, db upgrade, demo, import-members."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from server.config import Settings, secret_key_problem

GENERATE_KEY = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'


def _settings_help() -> str:
    lines = ["environment variables (all optional):"]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default not in ("", None) else "(see description)"
        lines.append(f"  MUSTER_{name.upper():<22} {field.description} Default: {default}")
    return "\n".join(lines)


def _serve_settings(args: argparse.Namespace) -> Settings:
    """Settings with --host/--port applied before resolving, so public_url and node_name follow them."""
    settings = Settings()
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    return settings.resolved()


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _serve_settings(args)
    problem = secret_key_problem(settings.secret_key)
    if problem:
        sys.exit(
            f"muster: refusing to start: {problem}. Anyone who guesses the key can forge signed links and meeting tickets.\n"
            f"Generate one with  {GENERATE_KEY}  and set it (the same on every node), or leave it empty on a single node "
            "to have one generated into MUSTER_DATA_DIR."
        )
    _serve(settings, args)


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from aiohttp import web

    from server.app import create_app
    from server.db.migrate import upgrade
    from server.observability import configure_logging

    configure_logging(settings.log_level)
    if args.migrate:
        upgrade(settings.database_url)
    app = create_app(settings)
    print(f"Muster is running at {settings.public_url}", flush=True)
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    from server.db.migrate import upgrade

    settings = Settings().resolved()
    upgrade(settings.database_url)
    print("database is at the newest schema")


def cmd_demo(args: argparse.Namespace) -> None:
    import asyncio

    from server.db.migrate import upgrade
    from server.demo import demo_banner, seed_demo_database

    settings = _serve_settings(args)
    upgrade(settings.database_url)
    demo = asyncio.run(seed_demo_database(settings))
    print(demo_banner(demo, settings.public_url), flush=True)
    _serve(settings, args)  # the demo, on its own machine, may keep whatever key it was given


def cmd_import_members(args: argparse.Namespace) -> None:
    from server.orgs.imports.command import run

    sys.exit(run(Settings().resolved(), args.org, args.file))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="muster", description="Muster collaboration server.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve",
        help="run the HTTP and WebSocket server",
        epilog=_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="address to listen on (overrides MUSTER_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (overrides MUSTER_PORT)")
    serve.add_argument("--migrate", action="store_true", help="apply database migrations before serving")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser(
        "demo",
        help="create a demo organisation with sample people and logins (idempotent), then serve",
        epilog=_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--host", help="address to listen on (overrides MUSTER_HOST)")
    demo.add_argument("--port", type=int, help="port to listen on (overrides MUSTER_PORT)")
    demo.set_defaults(func=cmd_demo, migrate=False)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply every pending migration").set_defaults(func=cmd_db_upgrade)

    members = sub.add_parser(
        "import-members",
        help="import or update an organisation's members from a CSV or XLSX file",
        description="Columns: external_id and name (required), email, phone, department ('Surgery/Ward 3'), title, role. "
        "Rows are matched by external_id, so importing again updates. Prints a JSON report; exits 1 if any row failed.",
    )
    members.add_argument("--org", required=True, metavar="SLUG", help="the organisation's address (slug)")
    members.add_argument("file", type=Path, metavar="FILE", help="a .csv (UTF-8) or .xlsx file")
    members.set_defaults(func=cmd_import_members)

    from server import capabilities

    for cap in capabilities.load():
        if cap.cli is not None:
            cap.cli(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()

