"""Guard rails: what makes a mailing send nothing, said before it is saved.

An end already past, a filter that matches no client now, a client-local sending window that
opens for none of the audience's time zones before the end: a mailing like that is valid (the
original API accepts it, and integrations send them), so these are warnings, not errors. The
admin asks the operator to confirm them; the API saves and lists them in its answer. Both ask
`mailing_warnings` here, so they say the same thing.

The checks cost a few index probes at a million clients: the audience is asked for one client
(never counted, never read from a cache that could still say 0 after an import), the time zones
present are read by skipping through the zone index (a probe per zone), and the audience is
asked for a client in a reachable zone only when some zone cannot be reached.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, time

from django.utils import timezone

from mailings import selectors
from mailings.formatting import zone_said
from mailings.models import Mailing
from mailings.sending.windows import next_opening, window_open

END_PASSED = "end_passed"
AUDIENCE_EMPTY = "audience_empty"
WINDOW_UNREACHABLE = "window_unreachable"
CODES = (END_PASSED, AUDIENCE_EMPTY, WINDOW_UNREACHABLE)


@dataclass(frozen=True)
class GuardWarning:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def window_reachable(*, zone_name: str, start: time, end: time, since: datetime, until: datetime) -> bool:
    """Whether a client in `zone_name` has its window open at some instant in [since, until), as
    the engine reads windows (mailings/sending/windows.py)."""
    if since >= until:
        return False
    if window_open(at=since, zone_name=zone_name, start=start, end=end):
        return True
    return next_opening(at=since, zone_name=zone_name, start=start) < until


def mailing_warnings(
    *,
    start_datetime: datetime,
    end_datetime: datetime,
    filter_operator_code: str = "",
    filter_tag: str = "",
    send_window_start: time | None = None,
    send_window_end: time | None = None,
    now: datetime | None = None,
) -> list[GuardWarning]:
    """Why a mailing with these values would send nothing; empty when it can send."""
    now = now or timezone.now()
    warnings = []
    if end_datetime <= now:
        end = timezone.localtime(end_datetime)
        zone = zone_said(timezone.get_current_timezone_name(), at=end)
        warnings.append(
            GuardWarning(
                END_PASSED,
                f"The end ({end:%Y-%m-%d %H:%M}, {zone}) has already passed: nothing would be sent. "
                "Move the end later.",
            )
        )
    if not selectors.client_audience(operator_code=filter_operator_code, tag=filter_tag).exists():
        said = _filter_said(filter_operator_code, filter_tag)
        warnings.append(GuardWarning(AUDIENCE_EMPTY, f"No client matches {said} now: nothing would be sent."))
    if warnings or send_window_start is None or send_window_end is None:
        return warnings
    since = max(start_datetime, now)
    zones = selectors.client_timezones()
    window = {"start": send_window_start, "end": send_window_end, "since": since, "until": end_datetime}
    reachable = [zone for zone in zones if window_reachable(zone_name=zone, **window)]
    if len(reachable) == len(zones):
        return []
    if reachable and selectors.client_audience_in_zones(
        operator_code=filter_operator_code, tag=filter_tag, zones=reachable
    ):
        return []
    hours = f"{send_window_start:%H:%M}-{send_window_end:%H:%M}"
    return [
        GuardWarning(
            WINDOW_UNREACHABLE,
            f"The sending window {hours} (client's local time) opens for none of this audience's clients "
            "before the end: nothing would be sent. "
            "Widen the window or move the end later.",
        )
    ]


def mailing_warnings_of(*, mailing: Mailing, now: datetime | None = None) -> list[GuardWarning]:
    return mailing_warnings(
        start_datetime=mailing.start_datetime,
        end_datetime=mailing.end_datetime,
        filter_operator_code=mailing.filter_operator_code,
        filter_tag=mailing.filter_tag,
        send_window_start=mailing.send_window_start,
        send_window_end=mailing.send_window_end,
        now=now,
    )


def _filter_said(operator_code: str, tag: str) -> str:
    parts = [f"operator code {operator_code}"] * bool(operator_code) + [f"tag {tag!r}"] * bool(tag)
    return "this filter (" + " and ".join(parts) + ")" if parts else "this filter (any client)"
