"""Time zones by IANA name: an organisation's dates and "today" are read in its own zone."""
from __future__ import annotations

import zoneinfo
from typing import Annotated

from pydantic import AfterValidator
from server.i18n.validation import InvalidValue


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows (``Asia/Shanghai``), else a ValueError saying so."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidValue("unknown time zone '{name}': use an IANA name such as Asia/Shanghai", name=name) from None
    return name


TimeZone = Annotated[str, AfterValidator(check_time_zone)]
