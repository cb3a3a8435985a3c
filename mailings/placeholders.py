"""Placeholders in a mailing's text: `{phone_number}`, `{first_name}`, `{first_name|customer}`.

A small parser, not a template language: a placeholder is a name (a client field or an
attribute the client carries) and an optional default after `|`; `{{` and `}}` are literal
braces. Nothing in a text is ever evaluated (no str.format, no attribute or index access):
`{a.b}`, `{a[0]}`, `{__class__}` are refused as malformed names.

Rendering: a client field always has a value (an empty one takes the default when there is
one); an attribute the client lacks (or holds empty) takes the default, and without one the
text cannot be rendered for that client (`MissingValue`).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

# The client's own fields a text may name. The rest are attributes (Client.attributes).
CLIENT_FIELDS = ("phone_number", "operator_code", "tag")
# Names an attribute may not take: the client's own fields.
RESERVED_NAMES = frozenset({*CLIENT_FIELDS, "timezone", "id", "attributes", "created_at", "updated_at"})
NAME_RE = re.compile(r"^(?!__)[a-z_][a-z0-9_]{0,39}$")  # no dunder look-alikes: {__class__} is refused
DEFAULT_MAX_LENGTH = 160

_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    """The text's placeholders are malformed: `problems` says each, in order."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class AttributesError(TemplateError):
    """A client's attributes are not valid: `problems` names each key."""


class MissingValue(LookupError):
    """The client lacks an attribute that a placeholder without a default needs."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    default: str | None = None

    @property
    def is_field(self) -> bool:
        return self.name in CLIENT_FIELDS

    def __str__(self) -> str:
        return "{" + self.name + ("" if self.default is None else "|" + self.default) + "}"


@dataclass(frozen=True, slots=True)
class Template:
    pieces: tuple  # of str (literal text) and Placeholder

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(p for p in self.pieces if isinstance(p, Placeholder))

    @property
    def has_placeholders(self) -> bool:
        return any(isinstance(p, Placeholder) for p in self.pieces)

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """The attributes the text names, each once, in order."""
        return tuple(dict.fromkeys(p.name for p in self.placeholders if not p.is_field))

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.name for p in self.placeholders if p.is_field))

    @property
    def required_attributes(self) -> tuple[str, ...]:
        """Attributes named at least once without a default: a client lacking one cannot get the text."""
        return tuple(dict.fromkeys(p.name for p in self.placeholders if not p.is_field and p.default is None))

    def render(self, values: Mapping[str, str | None]) -> str:
        """The text for one client: `values` maps each name to its value (None or absent: lacking)."""
        out = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            value = values.get(piece.name)
            if value is None or value == "":
                if piece.default is not None:
                    value = piece.default
                elif piece.is_field:
                    value = ""
                else:
                    raise MissingValue(piece.name)
            out.append(value)
        return "".join(out)

    def skeleton(self) -> str:
        """The text with each placeholder as its default (or nothing): the least any client gets."""
        return "".join(p if isinstance(p, str) else p.default or "" for p in self.pieces)


def _placeholder(inner: str) -> tuple[Placeholder | None, str]:
    name, bar, default = inner.partition("|")
    name = name.strip()
    if not NAME_RE.match(name):
        return None, (
            f"{{{inner}}} is not a placeholder: a name is lowercase letters, digits and _ "
            f"(at most 40, not starting with a digit or __), optionally followed by |default text"
        )
    if bar and len(default) > DEFAULT_MAX_LENGTH:
        return None, f"the default of {{{name}|...}} is {len(default)} characters; at most {DEFAULT_MAX_LENGTH}"
    return Placeholder(name, default if bar else None), ""


@lru_cache(maxsize=256)
def parse(text: str) -> Template:
    """The text's literal pieces and placeholders; TemplateError naming every malformed one."""
    pieces: list = []
    problems: list[str] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN_RE.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
        elif token in ("{", "}"):
            problems.append(
                f"a lone {token} at character {match.start() + 1}: write {token}{token} for a literal {token}"
            )
        else:
            placeholder, problem = _placeholder(match.group(1))
            if problem:
                problems.append(problem)
                continue
            if literal:
                pieces.append("".join(literal))
                literal = []
            pieces.append(placeholder)
    literal.append(text[position:])
    if "".join(literal):
        pieces.append("".join(literal))
    if problems:
        raise TemplateError(problems)
    return Template(tuple(pieces))


def parse_or_literal(text: str) -> Template:
    """For the sender: a text that does not parse (saved before placeholders were checked) goes as written."""
    try:
        return parse(text)
    except TemplateError:
        return Template((text,))


def client_values(*, phone_number: str, operator_code: str, tag: str, attributes: Mapping | None) -> dict:
    """Every name a text may use, for one client."""
    return {**(attributes or {}), "phone_number": phone_number, "operator_code": operator_code, "tag": tag}


# A client's attributes: at most this many, each value a string of at most this many characters.
ATTRIBUTES_MAX_KEYS = 20
ATTRIBUTE_VALUE_MAX_LENGTH = 200


def attribute_key_problem(key: object) -> str:
    """Why `key` cannot name an attribute, or "" when it can."""
    if not isinstance(key, str) or not NAME_RE.match(key):
        return (
            f"{key!r} is not a valid attribute name: lowercase letters, digits and _, "
            "at most 40, not starting with a digit or __"
        )
    if key in RESERVED_NAMES:
        return f"{key!r} is a client field, not an attribute"
    return ""


def attribute_value_problem(key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return f"the value of {key!r} must be text (or a number), not {type(value).__name__}"
    if len(str(value)) > ATTRIBUTE_VALUE_MAX_LENGTH:
        return f"the value of {key!r} is {len(str(value))} characters; at most {ATTRIBUTE_VALUE_MAX_LENGTH}"
    return ""


def normalize_attributes(value: object) -> dict[str, str]:
    """The stored form of a client's attributes: names checked, values as text, empty ones dropped.

    ValueError listing every problem, each naming the key.
    """
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise AttributesError([f"attributes must be an object of name: text, not {type(value).__name__}"])
    problems = [attribute_key_problem(key) or attribute_value_problem(key, v) for key, v in value.items()]
    problems = [p for p in problems if p]
    cleaned = {} if problems else {key: str(v).strip() for key, v in value.items()}
    cleaned = {key: v for key, v in cleaned.items() if v}
    if len(cleaned) > ATTRIBUTES_MAX_KEYS:
        problems.append(f"{len(cleaned)} attributes; at most {ATTRIBUTES_MAX_KEYS}")
    if problems:
        raise AttributesError(problems)
    return cleaned
