"""A personalised text against its audience: checked when the mailing is saved, previewed in the composer.

On save (Mailing.clean, so the admin and the API refuse alike): a malformed placeholder; a name
that is neither a client field nor an attribute some client of the audience carries; an
attribute without a default that some clients of the audience lack (refused, saying how many,
and suggesting a default). The limit on parts is checked on the text with each placeholder as
its default (the least any client gets); each rendered text is checked again in the worker.
One scan of the audience answers every name (`attribute_coverage`).
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.template.defaultfilters import pluralize

from mailings import placeholders, segments
from mailings.models import Client, validate_message_parts
from mailings.placeholders import Template, TemplateError
from mailings.selectors import client_audience as audience


@dataclass(frozen=True)
class Coverage:
    clients: int
    carrying: dict[str, int]  # attribute -> clients of the audience that carry it

    def lacking(self, name: str) -> int:
        return self.clients - self.carrying.get(name, 0)


def attribute_coverage(*, names: tuple[str, ...], operator_code: str = "", tag: str = "") -> Coverage:
    """How many clients of the audience carry each attribute: one aggregate over the audience."""
    counts = {f"carry_{n}": Count("id", filter=Q(attributes__has_key=name)) for n, name in enumerate(names)}
    row = audience(operator_code=operator_code, tag=tag).aggregate(clients=Count("id"), **counts)
    return Coverage(row["clients"], {name: row[f"carry_{n}"] or 0 for n, name in enumerate(names)})


def check_text(text: str, *, operator_code: str = "", tag: str = "") -> Template:
    """The parsed text, or ValidationError with every reason, each naming its placeholder."""
    try:
        template = placeholders.parse(text)
    except TemplateError as exc:
        raise ValidationError(exc.problems, code="placeholder") from None
    validate_message_parts(template.skeleton())
    names = template.attribute_names
    if not names:
        return template
    coverage = attribute_coverage(names=names, operator_code=operator_code, tag=tag)
    problems = []
    for name in names:
        if not coverage.carrying[name]:
            problems.append(
                f"{{{name}}}: no client of the audience has an attribute {name} "
                f"(the client fields are {', '.join(placeholders.CLIENT_FIELDS)})"
            )
        elif name in template.required_attributes and coverage.lacking(name):
            lacking = coverage.lacking(name)
            problems.append(
                f"{{{name}}}: {lacking:,} of {coverage.clients:,} client{pluralize(coverage.clients)} of the audience "
                f"{pluralize(lacking, 'has,have')} no {name}; give a default, such as {{{name}|...}}"
            )
    if problems:
        raise ValidationError(problems, code="placeholder")
    return template


def preview(text: str, *, operator_code: str = "", tag: str = "", clients: int = 3, phone: str = "") -> dict:
    """The text rendered for a few real clients of the audience (or the one with `phone`), each with
    its encoding and parts, and how many clients of the audience would get each default."""
    try:
        template = placeholders.parse(text)
    except TemplateError as exc:
        return {"personalised": False, "problems": exc.problems, "samples": [], "defaults": []}
    if not template.has_placeholders:
        return {"personalised": False, "problems": [], "samples": [], "defaults": []}
    chosen = audience(operator_code=operator_code, tag=tag)
    chosen = chosen.filter(phone_number=phone) if phone else chosen.order_by("id")
    samples = [_sample(template, client) for client in chosen[:clients]]
    with_default = tuple(dict.fromkeys(p.name for p in template.placeholders if not p.is_field and p.default))
    coverage = attribute_coverage(names=with_default, operator_code=operator_code, tag=tag)
    defaults = [{"name": name, "clients": coverage.lacking(name)} for name in with_default]
    return {"personalised": True, "problems": [], "samples": samples, "defaults": defaults}


def render_for(template: Template, client: Client) -> str:
    """The text for one client (MissingValue when it lacks an attribute without a default)."""
    return template.render(
        placeholders.client_values(
            phone_number=client.phone_number,
            operator_code=client.operator_code,
            tag=client.tag,
            attributes=client.attributes,
        )
    )


def _sample(template: Template, client: Client) -> dict:
    try:
        text = render_for(template, client)
    except placeholders.MissingValue as missing:
        return {"phone": client.phone_number, "text": "", "error": f"no {missing.name} and no default"}
    counted = segments.count(text)
    return {
        "phone": client.phone_number,
        "text": text,
        "encoding": counted.encoding,
        "parts": counted.parts,
        "error": "",
    }
