"""docker-compose.yml as the tests read it (no Docker engine runs here): the file as YAML, and
compose's own substitution of the variables it names."""

import re

import yaml

from backoffice.processes import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_value(raw: str, given: dict[str, str]) -> str:
    """docker compose's `${NAME:?error}` and `${NAME:-default}` substitution."""

    def substitute(match: re.Match) -> str:
        name, kind, rest = match["name"], match["kind"], match["rest"]
        if name in given:
            return given[name]
        assert kind != ":?", f"compose requires {name}: {rest}"
        return rest if kind == ":-" else ""

    return re.sub(r"\$\{(?P<name>\w+)(?:(?P<kind>:[?-])(?P<rest>[^}]*))?\}", substitute, raw)


def service_environment(service: dict, given: dict[str, str]) -> dict[str, str]:
    """A service's environment as compose would give it, with `given` as the operator's variables."""
    return {name: compose_value(str(value), given) for name, value in service["environment"].items()}
