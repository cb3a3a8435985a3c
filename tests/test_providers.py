"""The provider registry: `default` from the settings it always had, others from SENDING_PROVIDERS."""

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured

from backoffice.flags import parse_flag
from backoffice.provider_settings import env_suffix, read_provider_settings
from mailings.inbound import inbound_providers, inbound_secret
from mailings.providers import provider_named, providers


def _read(monkeypatch, **variables):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    env = environ.Env()

    def env_bool(name, *, default):
        return parse_flag(name, env.str(name, default=None), default=default)

    return read_provider_settings(env, env_bool)


def test_a_one_provider_set_up_needs_no_new_setting(monkeypatch):
    monkeypatch.delenv("SENDING_PROVIDERS", raising=False)
    read = _read(monkeypatch)
    assert read["SENDING_PROVIDERS"] == {}
    assert read["SENDING_PARTS_PER_SECOND"] == 0
    assert read["SENDING_API_ENABLED"] is True


def test_named_providers_read_their_own_variables(monkeypatch):
    read = _read(
        monkeypatch,
        SENDING_PROVIDERS="eu-backup, b",
        SENDING_PROVIDER_EU_BACKUP_URL="https://eu.example/api/",
        SENDING_PROVIDER_EU_BACKUP_TOKEN="t-eu",  # pragma: allowlist secret
        SENDING_PROVIDER_EU_BACKUP_PARTS_PER_SECOND="50",
        SENDING_PROVIDER_EU_BACKUP_ENABLED="no",
        INBOUND_SECRET_EU_BACKUP="in-eu",  # pragma: allowlist secret
        DELIVERY_REPORT_SECRET_EU_BACKUP="dlr-eu",  # pragma: allowlist secret
        SENDING_PROVIDER_B_URL="http://127.0.0.1:9000",
        SENDING_PROVIDER_B_TOKEN="t-b",  # pragma: allowlist secret
    )["SENDING_PROVIDERS"]
    assert list(read) == ["eu-backup", "b"]
    assert read["eu-backup"] == {
        "url": "https://eu.example/api",
        "token": "t-eu",
        "parts_per_second": 50.0,
        "enabled": False,
        "inbound_secret": "in-eu",
        "report_secret": "dlr-eu",
    }
    assert read["b"]["parts_per_second"] == 0
    assert read["b"]["enabled"] is True


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"SENDING_PROVIDERS": "Bad Name"}, "SENDING_PROVIDERS"),
        ({"SENDING_PROVIDERS": "default"}, "SENDING_PROVIDERS"),
        ({"SENDING_PROVIDERS": "b,b", "SENDING_PROVIDER_B_URL": "http://x", "SENDING_PROVIDER_B_TOKEN": "t"}, "twice"),
        ({"SENDING_PROVIDERS": "b", "SENDING_PROVIDER_B_TOKEN": "t"}, "SENDING_PROVIDER_B_URL"),
        ({"SENDING_PROVIDERS": "b", "SENDING_PROVIDER_B_URL": "http://x"}, "SENDING_PROVIDER_B_TOKEN"),
        ({"SENDING_PARTS_PER_SECOND": "fast"}, "SENDING_PARTS_PER_SECOND"),
        ({"SENDING_PARTS_PER_SECOND": "-1"}, "SENDING_PARTS_PER_SECOND"),
    ],
)
def test_a_bad_provider_setting_stops_start_up_naming_it(monkeypatch, variables, named):
    with pytest.raises(ImproperlyConfigured, match=named):
        _read(monkeypatch, **variables)


def test_env_suffix():
    assert env_suffix("eu-backup") == "EU_BACKUP"


def test_the_registry_reads_default_from_the_current_settings(settings):
    settings.SENDING_API_URL = "http://provider.example"
    settings.SENDING_API_TOKEN = "tok"  # pragma: allowlist secret
    settings.INBOUND_SECRET = "in"  # pragma: allowlist secret
    settings.SENDING_PROVIDERS = {
        "b": {
            "url": "http://b.example",
            "token": "tb",  # pragma: allowlist secret
            "parts_per_second": 5.0,
            "enabled": True,
            "inbound_secret": "in-b",  # pragma: allowlist secret
            "report_secret": "",
        }
    }
    found = providers()
    assert list(found) == ["default", "b"]
    assert found["default"].url == "http://provider.example"
    assert found["default"].token == "tok"
    assert provider_named("b").parts_per_second == 5.0
    assert provider_named("c") is None
    assert "tb" not in repr(found["b"])
    assert "in-b" not in repr(found["b"])
    assert inbound_providers() == ["default", "b"]
    assert inbound_secret("b") == "in-b"
    assert inbound_secret("default") == "in"
    assert inbound_secret("c") is None
