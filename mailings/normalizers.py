"""Parsing of the values people type: phone numbers and time zones.

Each function returns the canonical form we store, or raises a Django
`ValidationError` that says what is wrong and what would be right.
"""

import re
import zoneinfo
from datetime import timedelta, timezone, tzinfo
from functools import lru_cache

from django.core.exceptions import ValidationError

PHONE_RE = re.compile(r"^7[0-9]{10}$")  # ASCII digits: Python's \d takes any script's
# Spaces, dashes, dots and brackets people put in numbers; a leading "+".
_PHONE_DECORATION = re.compile(r"[\s\-().]")

_TRUNK_PHONE_RE = re.compile(r"^8[0-9]{10}$")

OPERATOR_CODE_RE = re.compile(r"^[0-9]{3}$")


def written_with_trunk_prefix(value: object) -> bool:
    """`8 (900) 123-45-67`: a Russian number as it is dialled within the country, 8 and ten digits."""
    return bool(_TRUNK_PHONE_RE.match(_PHONE_DECORATION.sub("", str(value if value is not None else ""))))


def normalize_phone(value: object) -> str:
    """`+7 (900) 123-45-67` or `8 (900) 123-45-67` -> `79001234567`; anything that is not 7 (or the
    trunk prefix 8, without a `+`) and ten digits is refused."""
    text = _PHONE_DECORATION.sub("", str(value if value is not None else ""))
    if _TRUNK_PHONE_RE.match(text):
        text = "7" + text[1:]
    elif text.startswith("+"):
        text = text[1:]
    if not PHONE_RE.match(text):
        raise ValidationError(
            "%(value)s is not a valid phone number: expected 11 digits starting with 7 (or 8, read as 7), "
            "such as 79001234567.",
            code="invalid_phone",
            params={"value": repr(value)},
        )
    return text


def phone_prefix(term: str) -> str | None:
    """What a search for a phone means: the digits our phones start with, or None for a term that
    is not the start of a phone. Written as people write them: `+7 900 500-00-44`, with the trunk
    prefix `8 900 500` or without the country code `900 500` all mean `7900500`. Ten digits are a
    number without its country code (`812 123-45-67`: St Petersburg); a shorter start with 8 is
    read as the trunk prefix (`8 812` is `7 812`)."""
    digits = _PHONE_DECORATION.sub("", term).removeprefix("+")
    if not re.fullmatch(r"[0-9]{1,11}", digits):
        return None
    if len(digits) == 10 and digits[0] != "7":
        digits = "7" + digits
    elif digits[0] == "8":  # the trunk prefix of numbers written for calling within the country
        digits = "7" + digits[1:]
    elif digits[0] != "7":
        digits = "7" + digits
    return digits if len(digits) <= 11 else None


# A whole number of hours, signed or not: "3", "-5", "+14" (integrations that keep offsets as
# integers send 3, 0 or -5). Three digits are read, so that -100 is refused as an offset, not
# taken for -01:00.
_WHOLE_HOURS_RE = re.compile(r"^(?P<sign>[+-]?)\s*(?P<hours>[0-9]{1,3})$")
# "GMT+3", "UTC+03:00", "UTC-5:30", "+0530", "utc +3": minutes after a colon, or HHMM.
_OFFSET_RE = re.compile(
    r"^(?:(?:UTC|GMT)\s*)?(?P<sign>[+-])\s*(?:(?P<hours>[0-9]{1,2})(?::(?P<minutes>[0-9]{2}))?|(?P<hhmm>[0-9]{4}))$",
    re.I,
)
# A fixed offset that has no IANA zone of its own, stored as "UTC+05:30".
_FIXED_OFFSET_RE = re.compile(r"^UTC(?P<sign>[+-])(?P<hours>[0-9]{2}):(?P<minutes>[0-9]{2})$")
_UTC_WORDS = {"utc", "gmt", "z", "zulu", "utc0", "gmt0", "etc/utc", "etc/gmt"}
_TZ_HINT = (
    "use an IANA name such as Europe/Moscow, an offset such as UTC+3 or UTC-05:30, "
    "or a whole number of hours from -12 to 14"
)


@lru_cache(maxsize=1)
def _iana_names() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _offset_name(sign: str, hours: int, minutes: int) -> str:
    total = hours * 60 + minutes
    if minutes >= 60 or minutes % 15 or not (-12 * 60 <= (total if sign == "+" else -total) <= 14 * 60):
        raise ValidationError(
            "%(value)s is not a real UTC offset: offsets run from -12:00 to +14:00 in steps of 15 minutes.",
            code="invalid_timezone",
            params={"value": f"{sign}{hours:02d}:{minutes:02d}"},
        )
    if total == 0:
        return "UTC"
    if minutes == 0:
        # POSIX sign convention: Etc/GMT-3 is three hours *ahead* of UTC.
        return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def normalize_timezone(value: object) -> str:
    """An IANA name (any case), a UTC offset or a whole number of hours -> the name we store.

    Whole-hour offsets become their IANA `Etc/GMT∓N` zone (`GMT+3`, `+3`, `3` -> `Etc/GMT-3`),
    offsets with minutes that IANA has no fixed zone for become `UTC±HH:MM`.
    """
    text = str(value if value is not None else "").strip()
    if not text:
        raise ValidationError(f"A time zone is required: {_TZ_HINT}.", code="required")
    if text.lower() in _UTC_WORDS:
        return "UTC"
    match = _WHOLE_HOURS_RE.match(text)
    if match:
        return _offset_name(match["sign"] or "+", int(match["hours"]), 0)
    match = _OFFSET_RE.match(text)
    if match:
        hours, minutes = (match["hhmm"][:2], match["hhmm"][2:]) if match["hhmm"] else (match["hours"], match["minutes"])
        return _offset_name(match["sign"], int(hours), int(minutes or 0))
    name = _iana_names().get(text.lower())
    if name is None:
        raise ValidationError(
            "%(value)s is not a known time zone: " + _TZ_HINT + ".",
            code="invalid_timezone",
            params={"value": repr(text)},
        )
    return name


def zone_for(name: str) -> tzinfo:
    """The tzinfo of a stored time zone name (see `normalize_timezone`)."""
    match = _FIXED_OFFSET_RE.match(name)
    if match:
        delta = timedelta(hours=int(match["hours"]), minutes=int(match["minutes"]))
        return timezone(delta if match["sign"] == "+" else -delta, name)
    return zoneinfo.ZoneInfo(name)
