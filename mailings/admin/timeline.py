"""A mailing's timeline on its page: the send rate, the estimated finish, and a chart of the
messages sent and failed per minute (or per wider bucket) over its life. Reads the trigger-kept
per-minute counts only (mailings/timeline.py), never the messages."""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from mailings import selectors, timeline
from mailings.admin.charts import FAILED_COLOUR, SENT_COLOUR
from mailings.models import Mailing, Message


def bucket_label(minutes: int) -> str:
    if minutes % 1440 == 0:
        return "day" if minutes == 1440 else f"{minutes // 1440} days"
    if minutes % 60 == 0:
        return "hour" if minutes == 60 else f"{minutes // 60} hours"
    return "minute" if minutes == 1 else f"{minutes} minutes"


def timeline_bars_svg(series: list[tuple[datetime, int, int]], *, bucket_minutes: int, height: int = 120) -> SafeString:
    """Sent and failed side by side per bucket, stretched to the width it is given (its time axis
    and scale are HTML around it, see timeline_axis: SVG text would stretch with the bars)."""
    width = 10 * max(len(series), 1)  # 10 units a bucket: two bars of 4.5 and a gap
    peak = max((max(sent, failed) for _, sent, failed in series), default=0) or 1
    label = bucket_label(bucket_minutes)

    def bars():
        for index, (start, sent, failed) in enumerate(series):
            for offset, value, colour, word in ((0.5, sent, SENT_COLOUR, "sent"), (5, failed, FAILED_COLOUR, "failed")):
                if value <= 0:
                    continue
                h = max(height * value / peak, 1)
                yield (f"{index * 10 + offset:.1f}", f"{height - h:.1f}", f"{h:.1f}", colour,
                       f"{start:%Y-%m-%d %H:%M} UTC, that {label}: {value} {word}")  # fmt: skip

    return format_html(
        '<svg class="timeline-chart" role="img" viewBox="0 0 {w} {h}" width="100%" height="{h}" '
        'preserveAspectRatio="none" aria-label="Messages sent and failed per {label}">'
        '<line x1="0" y1="{h}" x2="{w}" y2="{h}" stroke="currentColor" stroke-opacity=".3" '
        'vector-effect="non-scaling-stroke"/>{bars}</svg>',
        w=width, h=height, label=label,
        bars=format_html_join(
            "", '<rect x="{}" y="{}" width="4.5" height="{}" fill="{}"><title>{}</title></rect>', bars()
        ),
    )  # fmt: skip


def timeline_axis(series: list[tuple[datetime, int, int]], *, bucket_minutes: int) -> list[datetime]:
    """The times at the chart's left edge, middle and right edge (UTC)."""
    if not series:
        return []
    start, span = series[0][0], timedelta(minutes=bucket_minutes) * len(series)
    return [start, start + span / 2, start + span]


def mailing_timeline_context(*, mailing: Mailing, now: datetime | None = None) -> dict:
    """What templates/admin/mailings/mailing/timeline.html shows for a saved mailing."""
    now = now or timezone.now()
    per_minute = timeline.mailing_sent_failed_per_minute(mailing=mailing, now=now)
    estimate = timeline.mailing_finish_estimate(mailing=mailing, now=now)
    counts = selectors.mailing_message_counts(mailing=mailing)
    done = counts[Message.Status.SENT] + counts[Message.Status.FAILED]
    series = per_minute["series"]
    return {
        "rate": round(estimate["rate"], 1),
        "estimate": estimate,
        "bucket": bucket_label(per_minute["bucket_minutes"]),
        "chart": timeline_bars_svg(series, bucket_minutes=per_minute["bucket_minutes"]) if series else "",
        "axis": timeline_axis(series, bucket_minutes=per_minute["bucket_minutes"]),
        "peak": max((max(sent, failed) for _, sent, failed in series), default=0),
        "finish_soon": bool(estimate["finish"] and estimate["finish"] - now < timedelta(minutes=1)),
        "sent": sum(sent for _, sent, _ in series),
        "failed": sum(failed for _, _, failed in series),
        # Sends before the per-minute counts began (migration 0018) are in the totals, not the chart.
        "uncharted": max(done - per_minute["charted"], 0),
        "first": series[0][0] if series else None,
    }
