"""Yes/no variables: one reading for the settings and for `make run`."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from backoffice import devstack
from backoffice.flags import parse_flag
from backoffice.settings import env_bool


class TestParseFlag:
    @pytest.mark.parametrize(
        ("raw", "expected"), [("1", True), (" Yes ", True), ("ON", True), ("0", False), ("off", False)]
    )
    def test_it_reads_the_words(self, raw, expected):
        assert parse_flag("DEBUG", raw, default=not expected) is expected

    @pytest.mark.parametrize("raw", [None, "", "  "])
    def test_unset_or_empty_is_the_default(self, raw):
        assert parse_flag("DEBUG", raw, default=True) is True
        assert parse_flag("DEBUG", raw, default=False) is False

    @pytest.mark.parametrize("raw", ["maybe", "2", "yes please"])
    def test_anything_else_is_refused_naming_the_variable(self, raw):
        with pytest.raises(ValueError, match=f"DEMO={raw!r}: expected one of"):
            parse_flag("DEMO", raw, default=True)


class TestWhereTheyAreRead:
    def test_the_settings_stop_start_up(self, monkeypatch):
        monkeypatch.setenv("SECURE_HSTS_PRELOAD", "maybe")
        with pytest.raises(ImproperlyConfigured, match="SECURE_HSTS_PRELOAD='maybe'"):
            env_bool("SECURE_HSTS_PRELOAD", default=False)

    def test_make_run_stops_with_the_same_words(self):
        with pytest.raises(SystemExit, match="DEMO='maybe'"):
            devstack._flag({"DEMO": "maybe"}, "DEMO", True)
        assert devstack._flag({"DEMO": ""}, "DEMO", True) is True
