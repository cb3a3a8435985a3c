"""The composer's line under a mailing's text: what each message of it costs in SMS parts, and the
look-alikes that would keep it GSM-7 (mailings/static/mailings/admin/text_parts.js asks for it as
the operator types), and the preview of a personalised text for real clients."""

from django.template.defaultfilters import pluralize

from mailings import personalisation, segments


def text_parts_answer(form, *, limit: int) -> dict:
    """The composer's answer: the line under the text, and a personalised text rendered for a few
    real clients of the audience the form's filter names."""
    text = form.get("text", "")
    operator_code, tag = form.get("filter_operator_code", "").strip()[:3], form.get("filter_tag", "").strip()[:64]
    return {
        **text_parts_summary(text, limit=limit),
        "preview": personalisation.preview(text, operator_code=operator_code, tag=tag),
    }


def text_parts_summary(text: str, *, limit: int) -> dict:
    """The composer's line under the text, and what it offers: the look-alikes that would keep the
    text GSM-7, with the text they give."""
    counted = segments.count(text)
    per_part = f"{counted.per_part} characters a part" if counted.parts > 1 else f"up to {counted.per_part} in one"
    summary = (
        f"{counted.characters:,} character{pluralize(counted.characters)} · {counted.encoding} · "
        f"{counted.parts} SMS part{pluralize(counted.parts)} ({per_part}; at most {limit})"
    )
    if counted.encoding == segments.UCS_2:
        more = len(counted.ucs2_characters) - 8
        named = ", ".join(counted.ucs2_characters[:8]) + (f" and {more} more" if more > 0 else "")
        summary += f". UCS-2 because of: {named}"
    lookalikes = segments.gsm_7_lookalikes(text)
    after = segments.count(segments.with_lookalikes_replaced(text)) if lookalikes else counted
    # Offered when the look-alikes alone make the text UCS-2, or cost parts.
    worth_it = after.encoding != counted.encoding or after.parts < counted.parts
    return {
        "summary": summary,
        "over_limit": counted.parts > limit,
        "lookalikes": "".join(lookalikes),
        "replaced": segments.with_lookalikes_replaced(text) if worth_it else None,
    }
