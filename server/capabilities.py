"""Discovery of capabilities (rooms/, notify/, schools/) through the ``muster.capabilities`` entry points.

The platform never imports a capability by name: pyproject.toml lists them,
and each exposes a ``Capability`` that says how it plugs in.
"""
from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web


@dataclass(frozen=True)
class Capability:
    name: str
    setup: Callable[[web.Application], None]  # add routes, cleanup contexts, gateway handlers
    models: str  # module whose import registers the capability's tables on Base.metadata
    migrations: Path | None = None  # its Alembic version folder (its own branch)
    cli: Callable | None = field(default=None)  # optional: add subcommands to `muster`
    locales: Path | None = None  # its gettext catalogues (server/i18n/), if it writes texts of its own
    demo: str | None = None  # optional: module whose async ``seed_demo(db, DemoOrg, Settings)`` seeds its part of `muster demo`


def load() -> list[Capability]:
    found = []
    for ep in sorted(importlib.metadata.entry_points(group="muster.capabilities"), key=lambda e: e.name):
        found.append(ep.load())
    return found


PLATFORM_MODELS = (
    "server.accounts.models", "server.orgs.models", "server.gateway.models", "server.files.models", "server.groups.models",
    "server.audit.models", "server.contacts.models", "server.channels.models", "server.forms.models",
    "server.leases",
)


def import_models() -> None:
    """Import every table definition, the platform's and each capability's."""
    for module in PLATFORM_MODELS:
        importlib.import_module(module)
    for cap in load():
        importlib.import_module(cap.models)
