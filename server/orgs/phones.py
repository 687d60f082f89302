"""Phone numbers: stored in E.164 so one number written two ways is one number, and searched by digits.

People write numbers as "139 0000 0001", "+86-139-0000-0001" or "(020) 7946 0958";
numbers without a country code are read in the organisation's default region
(the ``default_phone_region`` setting).

Reading a number with libphonenumber costs ~20 µs, which a city's import pays
half a million times. Numbers are allocated in blocks, and numbering plans tell
blocks apart by their leading digits, never by the last four: so once a number
written as plain digits has read as itself (no prefix stripped) and valid,
every other number of its block (same region, same length, same digits but the
last four) is too, and is written the same way without reading it again.
"""
from __future__ import annotations

import phonenumbers

from server.errors import InvalidInput

# Fewer typed digits than this match too much of the directory to be a phone search.
MIN_SEARCH_DIGITS = 3


BLOCK_TAIL = 4  # digits that vary within a block
_BLOCKS_MAX = 100_000
_blocks: dict[tuple[str, int, str], int] = {}  # (region, length, leading digits) → country code of valid blocks seen


def normalise_phone(raw: str, region: str) -> str:
    """The E.164 form of a phone number as a person wrote it; InvalidInput if it is not a valid number."""
    plain = raw.isascii() and raw.isdigit() and len(raw) > BLOCK_TAIL + 2
    block = (region, len(raw), raw[:-BLOCK_TAIL]) if plain else None
    if block is not None and (country_code := _blocks.get(block)) is not None:
        return f"+{country_code}{raw}"
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput("'{raw}' is not a phone number", field="phone", raw=raw) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("'{raw}' is not a valid phone number (numbers without +country code are read as {region})", field="phone", raw=raw, region=region)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if block is not None and e164 == f"+{number.country_code}{raw}":
        if len(_blocks) >= _BLOCKS_MAX:
            _blocks.clear()
        _blocks[block] = number.country_code
    return e164


def phone_search_digits(q: str, region: str) -> str | None:
    """The digits to look for inside stored E.164 numbers, or None if ``q`` is not a phone search.

    A whole number, however formatted, becomes its full E.164 digits (so "139 0000 0001"
    finds "+8613900000001"); a fragment ("0000 0001") is matched by its digits.
    """
    digits = "".join(c for c in q if c.isdigit())
    if len(digits) < MIN_SEARCH_DIGITS or any(c.isalpha() for c in q):
        return None
    try:
        number = phonenumbers.parse(q, region)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    except phonenumbers.NumberParseException:
        pass
    return digits
