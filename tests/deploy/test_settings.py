"""The production settings as `manage.py check --deploy` sees them, in a process of their own."""

import json
import os
import secrets
import signal
import subprocess
import sys

import pytest
import requests

from backoffice.processes import ROOT, bound_socket, wait_for_port


def _production_env(tmp_path, **overrides) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "METRICS_", "CSP_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "backoffice.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "STATIC_ROOT": str(tmp_path / "static"),
            "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        }
    )
    env.update(overrides)
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


class TestDeployCheck:
    def test_the_production_settings_pass_it_without_a_warning(self, tmp_path):
        result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env(tmp_path))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues (1 silenced)." in result.stdout

    def test_opting_in_to_preload_silences_nothing(self, tmp_path):
        env = _production_env(tmp_path, SECURE_HSTS_PRELOAD="1")
        result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues (0 silenced)." in result.stdout

    @pytest.mark.parametrize(
        ("variable", "value", "warning"),
        [("SECURE_SSL_REDIRECT", "0", "security.W008"), ("SESSION_COOKIE_SECURE", "0", "security.W012")],
    )
    def test_it_fails_when_a_safe_default_is_turned_off(self, tmp_path, variable, value, warning):
        result = _manage(
            "check", "--deploy", "--fail-level", "WARNING", env=_production_env(tmp_path, **{variable: value})
        )
        assert result.returncode != 0
        assert warning in result.stderr

    def test_a_missing_secret_key_stops_it_at_once(self, tmp_path):
        result = _manage("check", "--deploy", env=_production_env(tmp_path, SECRET_KEY=""))
        assert result.returncode != 0
        assert "SECRET_KEY is not set" in result.stderr

    def test_a_bad_metrics_network_is_a_clear_error(self, tmp_path):
        result = _manage("check", env=_production_env(tmp_path, METRICS_ALLOWED_NETWORKS="10.0.0.0/8,not-a-net"))
        assert result.returncode != 0
        assert "METRICS_ALLOWED_NETWORKS" in result.stderr
        assert "not-a-net" in result.stderr

    def test_a_bad_report_recipient_is_a_clear_error(self, tmp_path):
        env = _production_env(tmp_path, DAILY_REPORT_RECIPIENTS="ops@example.com,not an address")
        result = _manage("check", env=env)
        assert result.returncode != 0
        assert "DAILY_REPORT_RECIPIENTS: 'not an address' is not an e-mail address" in result.stderr

    def test_a_report_uri_is_added_to_the_content_security_policy(self, tmp_path):
        show = "from csp.utils import build_policy; print(build_policy())"
        result = _manage("shell", "-c", show, env=_production_env(tmp_path, CSP_REPORT_URI="https://csp.example.com/r"))
        assert result.returncode == 0, result.stderr
        assert "report-uri https://csp.example.com/r" in result.stdout
        assert "script-src 'self'" in result.stdout
        assert "report-uri" not in _manage("shell", "-c", show, env=_production_env(tmp_path)).stdout

    def test_a_report_uri_that_would_add_directives_is_a_clear_error(self, tmp_path):
        env = _production_env(tmp_path, CSP_REPORT_URI="https://csp.example.com/r; script-src *")
        result = _manage("check", env=env)
        assert result.returncode != 0
        assert "CSP_REPORT_URI: 'https://csp.example.com/r; script-src *' is not a URL" in result.stderr

    def test_collectstatic_makes_the_hashed_and_compressed_files_whitenoise_serves(self, tmp_path):
        env = _production_env(tmp_path)
        result = _manage("collectstatic", "--noinput", env=env)
        assert result.returncode == 0, result.stderr
        manifest = (tmp_path / "static" / "staticfiles.json").read_text()
        assert "admin/css/base.css" in manifest
        assert list((tmp_path / "static" / "admin" / "css").glob("base.*.css.gz"))  # compressed too


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    env = _production_env(tmp_path, ALLOWED_HOSTS="backoffice.example.com,localhost")
    assert _manage("collectstatic", "--noinput", env=env).returncode == 0
    # Gunicorn serves a socket bound here (fd://): its port is ours from the start, refused until it listens.
    with bound_socket() as sock:
        port = sock.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "backoffice.wsgi:application", "--bind", f"fd://{sock.fileno()}",
             "--workers", "1"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            pass_fds=(sock.fileno(),),
        )  # fmt: skip
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)


class TestGunicornWithProductionSettings:
    """The web container's command, run for real: gunicorn, DEBUG off, static files collected."""

    def _get(self, url: str, **headers) -> requests.Response:
        return requests.get(
            url, headers={"Host": "backoffice.example.com", **headers}, allow_redirects=False, timeout=10
        )

    def test_healthz_answers_over_plain_http(self, web):
        base, _ = web
        response = self._get(f"{base}/healthz", Host="localhost")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_pages_redirect_to_https_and_the_proxy_header_is_believed(self, web):
        base, _ = web
        plain = self._get(f"{base}/admin/")
        assert plain.status_code == 301
        assert plain.headers["Location"] == "https://backoffice.example.com/admin/"
        proxied = self._get(f"{base}/admin/login/", **{"X-Forwarded-Proto": "https"})
        assert proxied.status_code == 200
        assert proxied.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert "Secure" in proxied.headers["Set-Cookie"]  # the CSRF cookie

    def test_whitenoise_serves_the_hashed_static_files_for_ever(self, web):
        base, tmp_path = web
        manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
        hashed = manifest["paths"]["admin/css/base.css"]
        response = self._get(f"{base}/static/{hashed}", **{"Accept-Encoding": "gzip", "X-Forwarded-Proto": "https"})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert "max-age=315360000" in response.headers["Cache-Control"]

    def test_an_unknown_host_is_refused(self, web):
        base, _ = web
        assert self._get(f"{base}/healthz", Host="evil.example.net").status_code == 400
