"""Yes/no values from the environment, read one way by the settings and by `make run`.

Empty is the same as unset (compose passes `${NAME:-}` as an empty string); anything but a
plain yes/no word is refused rather than read as no.
"""

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def parse_flag(name: str, raw: str | None, *, default: bool) -> bool:
    """`raw` as a boolean; ValueError naming the variable when it is neither yes nor no."""
    value = (raw or "").strip().lower()
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")
