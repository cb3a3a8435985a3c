"""Figures as the pages and the daily e-mail show them."""


def percent(part: int, whole: int) -> str:
    """`part` of `whole` as `42.9%`; `-` when there is no whole (no messages, no rate)."""
    return f"{100 * part / whole:.1f}%" if whole else "-"
