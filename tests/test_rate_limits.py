"""Rates as the settings read them, and the counting that every process shares in the real Redis."""

import os
import subprocess
import sys
import time

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from backoffice.processes import ROOT
from backoffice.rates import Rate, parse_rate
from backoffice.settings import env_rate
from mailings import rate_limits
from mailings.rate_limits import rate_limit_hit


class TestParseRate:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("1200/minute", Rate(1200, 60)),
            ("3/second", Rate(3, 1)),
            (" 5 / Hour ", Rate(5, 3600)),
            ("100/d", Rate(100, 86400)),
            ("10/min", Rate(10, 60)),
        ],
    )
    def test_it_reads_a_number_per_period(self, raw, expected):
        assert parse_rate("API_RATE_PER_USER", raw) == expected

    @pytest.mark.parametrize("raw", ["", "1200", "10/month", "0/minute", "-1/minute", "1.5/second", "minute/10"])
    def test_anything_else_is_refused_naming_the_variable(self, raw):
        with pytest.raises(ValueError, match=f"API_RATE_PER_USER={raw!r}: expected a number of requests"):
            parse_rate("API_RATE_PER_USER", raw)

    def test_it_says_itself_in_words(self):
        assert str(Rate(1200, 60)) == "1200 a minute"

    def test_the_settings_stop_start_up(self, monkeypatch):
        monkeypatch.setenv("API_RATE_PER_ADDRESS", "60/month")
        with pytest.raises(ImproperlyConfigured, match="API_RATE_PER_ADDRESS='60/month'"):
            env_rate("API_RATE_PER_ADDRESS", default="60/minute")

    def test_no_test_messages_at_all_stops_start_up(self):
        env = {**os.environ, "TEST_MESSAGES_PER_HOUR": "0", "DJANGO_SETTINGS_MODULE": "backoffice.settings"}
        result = subprocess.run(
            [sys.executable, "-c", "import backoffice.settings"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode != 0
        assert "TEST_MESSAGES_PER_HOUR=0: expected 1 or more" in result.stderr


_HITS_IN_ANOTHER_PROCESS = """
import sys
from backoffice.rates import Rate
from mailings import rate_limits
from mailings.rate_limits import cache
bucket, frozen = sys.argv[1], float(sys.argv[2])
rate_limits.clock = lambda: frozen
cache.get("connect")  # connected before the start
print("ready", flush=True)
sys.stdin.readline()  # every process starts hitting at the same moment
print(sum(rate_limits.rate_limit_hit(bucket=bucket, rate=Rate(50, 3600)).allowed for _ in range(40)))
"""


class TestCounting:
    def test_processes_hitting_at_once_get_the_rate_and_no_more(self, frozen_clock):
        """Four processes, 40 hits each, at the same moment in one window of 50: exactly 50 pass."""
        bucket = f"concurrent-{time.time_ns()}"
        command = [sys.executable, "-c", _HITS_IN_ANOTHER_PROCESS, bucket, str(frozen_clock.now)]
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
        processes = [subprocess.Popen(command, cwd=ROOT, text=True, **pipes) for _ in range(4)]
        assert [process.stdout.readline() for process in processes] == ["ready\n"] * 4
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=60)[0] for process in processes]
        assert all(process.returncode == 0 for process in processes), outputs
        assert sum(int(out) for out in outputs) == 50
        following = rate_limit_hit(bucket=bucket, rate=Rate(50, 3600))
        assert (following.allowed, following.count) == (False, 161)

    def test_the_wait_is_what_is_left_of_the_window_in_whole_seconds(self, frozen_clock):
        frozen_clock.advance(3600 - 90.5)
        verdict = rate_limit_hit(bucket="waits", rate=Rate(1, 3600))
        assert (verdict.allowed, verdict.retry_after) == (True, 91)
        frozen_clock.advance(90)
        assert rate_limit_hit(bucket="waits", rate=Rate(1, 3600)).retry_after == 1
        frozen_clock.advance(0.5)
        assert rate_limit_hit(bucket="waits", rate=Rate(1, 3600)).allowed

    def test_a_windows_counter_is_gone_from_redis_soon_after_the_window(self, monkeypatch):
        """Redis keeps only the current windows' counters (the real clock and Redis' own expiry)."""
        monkeypatch.setattr(rate_limits, "clock", time.time)
        time.sleep(1.02 - time.time() % 1)  # just after a second begins
        window = int(time.time())
        rate_limit_hit(bucket="expiring", rate=Rate(5, 1))
        key = f"rate:expiring:1:{window}"
        assert cache.get(key) == 1
        time.sleep(window + 3 - time.time())
        assert cache.get(key) is None
