"""schools' settings, read once from ``MUSTER_SCHOOLS_*`` environment variables.

A bureau's import is larger than a member import (a city: 1,300 schools,
480,000 people, in one workbook), so it has limits of its own.
"""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SchoolsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSTER_SCHOOLS_", extra="ignore")

    import_max_bytes: int = Field(512 << 20, ge=1, description="Largest file (or all files together) one hierarchy import may send.")
    import_max_rows: int = Field(2_000_000, ge=1, description="Most rows (below the header) one sheet of a hierarchy import may have.")
    import_max_unpacked_bytes: int = Field(2 << 30, ge=1, description="Most bytes an XLSX hierarchy import may unpack to (its XML, all parts together).")
