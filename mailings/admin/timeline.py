"""A mailing's timeline on its page: the send rate, the estimated finish, and a chart of the
messages sent and failed per minute (or per wider bucket) over its life. Reads the trigger-kept
per-minute counts only (mailings/timeline.py), never the messages."""

from datetime import datetime

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


def timeline_bars_svg(
    series: list[tuple[datetime, int, int]], *, bucket_minutes: int, width: int = 900, height: int = 160
) -> SafeString:
    """Sent and failed side by side per bucket; the peak, zero, and about six times labelled (UTC)."""
    top, bottom, left = 12, 22, 48
    plot_height = height - top - bottom
    slot = (width - left) / max(len(series), 1)
    bar = max(slot / 2 - 0.5, 0.5)
    peak = max((max(sent, failed) for _, sent, failed in series), default=0) or 1
    stamp = "%d %b" if bucket_minutes >= 1440 else "%d %b %H:%M"
    label = bucket_label(bucket_minutes)

    def bars():
        for index, (start, sent, failed) in enumerate(series):
            x = left + index * slot
            for offset, value, colour, word in ((0, sent, SENT_COLOUR, "sent"), (bar, failed, FAILED_COLOUR, "failed")):
                if value <= 0:
                    continue
                h = max(plot_height * value / peak, 1)
                yield (f"{x + offset:.1f}", f"{top + plot_height - h:.1f}", f"{bar:.1f}", f"{h:.1f}", colour,
                       f"{start:%Y-%m-%d %H:%M} UTC, that {label}: {value} {word}")  # fmt: skip

    def labels():
        last = len(series) - 1
        every = max(len(series) // 6, 1)
        for index, (start, _, _) in enumerate(series):
            if index == last:
                yield f"{width}", f"{height - 6}", "end", f"{start:{stamp}}"
            elif index % every == 0 and last - index >= every / 2:
                yield f"{left + index * slot:.1f}", f"{height - 6}", "start", f"{start:{stamp}}"

    return format_html(
        '<svg class="timeline-chart" role="img" viewBox="0 0 {w} {h}" width="100%" height="{h}" '
        'preserveAspectRatio="none" aria-label="Messages sent and failed per {label}">'
        '<text x="0" y="{t}" font-size="11" fill="currentColor">{peak}</text>'
        '<text x="0" y="{base}" font-size="11" fill="currentColor">0</text>'
        '<line x1="{left}" y1="{base}" x2="{w}" y2="{base}" stroke="currentColor" stroke-opacity=".3"/>'
        "{bars}{labels}</svg>",
        w=width, h=height, t=top + 4, base=top + plot_height, left=left, peak=peak, label=label,
        bars=format_html_join(
            "", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>', bars()
        ),
        labels=format_html_join(
            "", '<text x="{}" y="{}" text-anchor="{}" font-size="11" fill="currentColor">{}</text>', labels()
        ),
    )  # fmt: skip


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
        "sent": sum(sent for _, sent, _ in series),
        "failed": sum(failed for _, _, failed in series),
        # Sends before the per-minute counts began (migration 0018) are in the totals, not the chart.
        "uncharted": max(done - per_minute["charted"], 0),
        "first": series[0][0] if series else None,
    }
