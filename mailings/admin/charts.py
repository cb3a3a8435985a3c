"""Inline SVG charts for the admin: no script, no CDN, readable without colour (tooltips, labels)."""

from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

SENT_COLOUR, FAILED_COLOUR = "#2e7d32", "#c62828"


def daily_bars_svg(series: list[tuple[date, int, int]], *, width: int = 900, height: int = 180) -> SafeString:
    """Sent and failed side by side for each day, with the scale and every fifth date labelled."""
    top, bottom, left = 12, 22, 48
    plot_height = height - top - bottom
    slot = (width - left) / max(len(series), 1)
    bar = max(slot / 2 - 1, 1)
    peak = max((max(sent, failed) for _, sent, failed in series), default=0) or 1

    def bars():
        for index, (day, sent, failed) in enumerate(series):
            x = left + index * slot
            for offset, value, colour, label in (
                (0, sent, SENT_COLOUR, "sent"),
                (bar, failed, FAILED_COLOUR, "failed"),
            ):
                h = plot_height * max(value, 0) / peak
                yield (f"{x + offset:.1f}", f"{top + plot_height - h:.1f}", f"{bar:.1f}", f"{h:.1f}", colour,
                       f"{day:%Y-%m-%d}: {value} {label}")  # fmt: skip

    def labels():
        last = len(series) - 1
        for index, (day, _, _) in enumerate(series):
            if index == last:  # the newest day ends at the right edge, not past it
                yield f"{width}", f"{height - 6}", "end", f"{day:%d %b}"
            elif index % 5 == 0 and last - index >= 3:
                yield f"{left + index * slot:.1f}", f"{height - 6}", "start", f"{day:%d %b}"

    return format_html(
        '<svg class="daily-chart" role="img" viewBox="0 0 {w} {h}" width="100%" height="{h}" '
        'aria-label="Messages sent and failed per day">'
        '<text x="0" y="{t}" font-size="11" fill="currentColor">{peak}</text>'
        '<text x="0" y="{base}" font-size="11" fill="currentColor">0</text>'
        '<line x1="{left}" y1="{base}" x2="{w}" y2="{base}" stroke="currentColor" stroke-opacity=".3"/>'
        "{bars}{labels}</svg>",
        w=width, h=height, t=top + 4, base=top + plot_height, left=left, peak=peak,
        bars=format_html_join(
            "", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>', bars()
        ),
        labels=format_html_join(
            "", '<text x="{}" y="{}" text-anchor="{}" font-size="11" fill="currentColor">{}</text>', labels()
        ),
    )  # fmt: skip
