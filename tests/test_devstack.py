"""The pieces of `make run` (backoffice/devstack.py) that can be tried without starting it whole;
tests/test_make_run.py runs it whole."""

import shutil
import socket
import subprocess
import sys
import time

import pytest

from backoffice import devstack
from backoffice.processes import (
    ManagedProcess,
    bound_socket,
    free_port,
    port_is_free,
    stop_together,
    wait_for_port,
)
from tests.support.processes import redis_env


@pytest.fixture
def refused_port():
    """A port nothing listens on while the test runs: bound here, never listening."""
    with bound_socket() as sock:
        yield sock.getsockname()[1]


class TestSettingsFromTheEnvironment:
    @pytest.mark.parametrize("raw", ["abc", "0", "70000"])
    def test_a_bad_port_is_a_clear_error(self, raw):
        with pytest.raises(SystemExit, match=f"PORT={raw!r}|PORT={raw}"):
            devstack._port({"PORT": raw}, "PORT", 8000)

    def test_port_zero_is_any_free_port_where_the_server_says_which(self):
        assert devstack._port({"PORT": "0"}, "PORT", 8000, any_free=True) == 0

    def test_a_bad_flag_is_a_clear_error(self):
        with pytest.raises(SystemExit, match="DEMO='maybe': expected one of"):
            devstack._flag({"DEMO": "maybe"}, "DEMO", True)
        assert devstack._flag({"DEMO": "0"}, "DEMO", True) is False
        assert devstack._flag({}, "DEMO", True) is True

    def test_an_unknown_broker_choice_is_refused(self):
        with pytest.raises(SystemExit, match="BROKER='rabbit'"):
            devstack.Devstack({"BROKER": "rabbit"}).choose_broker()

    def test_a_redis_url_that_does_not_answer_is_not_silently_replaced(self, refused_port):
        url = f"redis://127.0.0.1:{refused_port}/0"
        with pytest.raises(SystemExit, match="does not answer"):
            devstack.Devstack({"REDIS_URL": url}).choose_broker()

    def test_a_password_in_redis_url_is_never_printed(self, refused_port):
        url = f"redis://user:s3cret@127.0.0.1:{refused_port}/0"  # pragma: allowlist secret
        with pytest.raises(SystemExit) as refused:
            devstack.Devstack({"REDIS_URL": url}).choose_broker()
        assert "s3cret" not in str(refused.value)
        assert "redis://user:***@127.0.0.1:" in str(refused.value)

    def test_a_redis_that_answers_is_used(self):
        url = redis_env()["REDIS_URL"]  # the test run's, which answers
        env = {"REDIS_URL": url}
        assert devstack.Devstack(env).choose_broker() == f"Redis at {url}"
        assert "CELERY_BROKER_URL" not in env

    def test_the_last_resort_is_the_filesystem_with_a_file_cache(self, capsys):
        env = {"BROKER": "filesystem"}
        devstack.Devstack(env).choose_broker()
        assert env["CELERY_BROKER_URL"].startswith("filesystem://")
        assert env["CACHE_URL"].startswith("filecache://")
        assert "one machine only" in capsys.readouterr().out


class TestStopTogether:
    """The children say `ready` once their signal handlers are in place: a fixed pause could end
    before a loaded machine had started them, and the SIGINT would find Python's default handler."""

    def _start(self, tmp_path, name: str, code: str) -> ManagedProcess:
        return ManagedProcess(name, [sys.executable, "-c", code], {}, tmp_path)

    def _wait_ready(self, process: ManagedProcess, count: int = 1) -> None:
        deadline = time.monotonic() + 30
        while process.log_path.read_text().count("ready") < count:
            assert time.monotonic() < deadline, f"{process.name} never said ready"
            time.sleep(0.02)

    def test_it_interrupts_all_and_kills_only_the_stubborn(self, tmp_path):
        polite = self._start(
            tmp_path,
            "polite",
            "import time\ntry:\n print('ready', flush=True)\n time.sleep(60)\nexcept KeyboardInterrupt:\n pass",
        )
        stubborn = self._start(
            tmp_path,
            "stubborn",
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "print('ready', flush=True)\ntime.sleep(60)",
        )
        self._wait_ready(polite)
        self._wait_ready(stubborn)
        assert stop_together([polite, stubborn], timeout=2) == ["stubborn"]
        assert polite.process.returncode == 0
        assert stubborn.process.returncode == -9
        assert not polite.group_alive()
        assert not stubborn.group_alive()

    def test_it_stops_a_child_the_leader_left_behind(self, tmp_path):
        # The leader starts a grandchild that ignores SIGINT, then exits on SIGINT itself.
        code = (
            "import subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-c', 'import signal, time; "
            'signal.signal(signal.SIGINT, signal.SIG_IGN); print("ready", flush=True); time.sleep(60)\'])\n'
            "try:\n print('ready', flush=True)\n time.sleep(60)\nexcept KeyboardInterrupt:\n pass\n"
        )
        leader = self._start(tmp_path, "leader", code)
        self._wait_ready(leader, count=2)
        assert stop_together([leader], timeout=1.5) == ["leader"]  # its group was not empty
        deadline = time.monotonic() + 5  # the SIGKILLed grandchild goes as soon as the kernel gets to it
        while leader.group_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not leader.group_alive()


class TestWaitForPort:
    def test_it_returns_once_the_port_listens(self):
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            assert wait_for_port(server.getsockname()[1], timeout=5) is True

    def test_it_stops_when_told_and_times_out_otherwise(self, refused_port):
        port = refused_port
        assert not port_is_free("127.0.0.1", port)  # held by the fixture, and nothing listens
        assert wait_for_port(port, timeout=5, stop=lambda: True) is False
        with pytest.raises(TimeoutError, match=f"nothing listens on port {port}"):
            wait_for_port(port, timeout=0.3)


class TestWaitForLine:
    def test_it_returns_what_the_process_said(self, tmp_path):
        code = "print('listening on 4321', flush=True)"
        server = ManagedProcess("server", [sys.executable, "-c", code], {}, tmp_path)
        assert server.wait_for_line(r"listening on (\d+)", timeout=30).group(1) == b"4321"

    def test_it_fails_at_once_when_the_process_exits_without_saying_it(self, tmp_path):
        quitter = ManagedProcess("quitter", [sys.executable, "-c", "print('nope')"], {}, tmp_path)
        with pytest.raises(RuntimeError, match="quitter exited with code 0 before saying"):
            quitter.wait_for_line("listening", timeout=30)

    def test_it_stops_when_told(self, tmp_path):
        sleeper = ManagedProcess("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], {}, tmp_path)
        try:
            assert sleeper.wait_for_line("listening", timeout=30, stop=lambda: True) is None
        finally:
            sleeper.stop()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server installed")
class TestItsOwnRedisServer:
    def test_a_port_taken_before_redis_binds_it_means_another_port(self, monkeypatch, refused_port):
        # The first port offered is held (as another process could take it meanwhile): redis-server
        # exits with "Address already in use", and the next free port is tried.
        offered = iter([refused_port])
        monkeypatch.setattr(devstack, "free_port", lambda: next(offered, None) or free_port())
        stack = devstack.Devstack({})
        try:
            said = stack.start_redis_server()
            assert f":{refused_port}/" not in said
            assert devstack.redis_answers(stack.env["REDIS_URL"])
            assert [p.name for p in stack.processes] == ["redis"]
        finally:
            stop_together(stack.processes)


@pytest.mark.django_db(transaction=True)
class TestOidcMock:
    """`make run OIDC=mock`: the provider process it starts, and the settings it gives the web,
    read by the settings module's own reader, sign its people in with their roles."""

    def test_an_unknown_choice_is_refused(self):
        with pytest.raises(SystemExit, match="OIDC='keycloak': expected mock"):
            devstack.Devstack({"OIDC": "keycloak"}).start_oidc_mock()

    @pytest.mark.parametrize(("oidc", "lock"), [("", "requirements.txt"), ("mock", "requirements-dev.txt")])
    def test_make_run_installs_the_tests_lock_only_for_it(self, tmp_path, oidc, lock):
        """`make -n`: what `make run` would do in a fresh virtualenv (nothing is run)."""
        plan = subprocess.run(
            ["make", "-n", "run", f"VENV={tmp_path / 'venv'}", f"OIDC={oidc}"],
            cwd=devstack.ROOT, capture_output=True, text=True, timeout=30, check=True,
        ).stdout  # fmt: skip
        installs = [line for line in plan.splitlines() if "pip install" in line]
        assert len(installs) == 1
        assert installs[0].endswith(f"-r {lock}")
        assert f"OIDC={oidc} " in plan

    def test_its_people_sign_in_with_their_roles(self, monkeypatch, settings, live_server):
        import environ

        from backoffice.settings import env_bool
        from backoffice.sso_settings import read_sso_settings
        from mailings.models import SsoIdentity
        from tests.support.oidc_provider import Browser, sso_settings

        stack = devstack.Devstack({"OIDC": "mock", "OIDC_MOCK_PORT": "0", "PATH": "/usr/bin:/bin"})
        try:
            issuer = stack.start_oidc_mock()
            for name, value in stack.env.items():
                if name.startswith("OIDC_"):
                    monkeypatch.setenv(name, value)
            read = read_sso_settings(environ.Env(), env_bool)
            assert read["SSO_ENABLED"] is True
            sso_settings(settings, issuer, **read)
            assert Browser(live_server.url).sign_in("operator").status_code == 302
            assert Browser(live_server.url).sign_in("it-admin").status_code == 302
            assert Browser(live_server.url).sign_in("nobody").status_code == 403
            operator = SsoIdentity.objects.get(subject="operator").user
            assert list(operator.groups.values_list("name", flat=True)) == ["Operators"]
            assert SsoIdentity.objects.get(subject="it-admin").user.is_superuser
        finally:
            stack.stop()
