"""The production files, checked without Docker (none runs here): the compose file as YAML,
the Dockerfile's steps, and the beat health check they rely on."""

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from backoffice.processes import ROOT
from mailings.selectors import periodic_task_processing
from tests.support.compose import compose_value, load_compose
from tests.support.nginx import CERTIFICATES, SITE
from tests.support.processes import Cluster


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


class TestCompose:
    def test_it_has_the_services(self, compose):
        assert set(compose["services"]) == {"postgres", "redis", "migrate", "web", "proxy", "worker", "beat", "sandbox"}

    def test_every_long_running_service_has_a_health_check(self, compose):
        for name, service in compose["services"].items():
            if name != "migrate":
                assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"

    def test_the_app_services_wait_for_healthy_dependencies_and_the_migrations(self, compose):
        for name in ("web", "worker", "beat"):
            depends = compose["services"][name]["depends_on"]
            assert depends["postgres"] == {"condition": "service_healthy"}, name
            assert depends["redis"] == {"condition": "service_healthy"}, name
            assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        for name, service in compose["services"].items():
            for dependency in service.get("depends_on") or {}:
                assert dependency in compose["services"], f"{name} depends on unknown {dependency}"

    def test_the_web_runs_gunicorn_and_is_probed_on_readyz(self, compose):
        web = compose["services"]["web"]
        assert web["command"][0] == "gunicorn"
        assert "/readyz" in " ".join(web["healthcheck"]["test"])
        # The probe speaks plain HTTP to localhost: localhost must be allowed and /readyz not redirected.
        assert web["environment"]["ALLOWED_HOSTS"].endswith(",localhost")
        from django.conf import settings

        assert any(re.match(p, "readyz") for p in settings.SECURE_REDIRECT_EXEMPT)

    def test_there_is_exactly_one_beat_with_the_database_scheduler(self, compose):
        beat = compose["services"]["beat"]
        assert beat["deploy"]["replicas"] == 1
        assert "django_celery_beat.schedulers:DatabaseScheduler" in beat["command"]
        others = [n for n, s in compose["services"].items() if n != "beat" and "beat" in (s.get("command") or [])]
        assert others == []

    def test_the_sandbox_is_an_optional_profile(self, compose):
        assert compose["services"]["sandbox"]["profiles"] == ["sandbox"]
        assert all("profiles" not in s for n, s in compose["services"].items() if n != "sandbox")

    def test_secrets_come_from_the_environment(self, compose):
        env = compose["services"]["web"]["environment"]
        for name in ("SECRET_KEY", "SENDING_API_TOKEN"):
            assert env[name].startswith(f"${{{name}:?"), name  # required: compose refuses to start without it
        assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]
        assert env["DEBUG"] == "0"


class TestTheProxyInFront:
    """The web is reachable only through the proxy, and told how many proxies stand in front of it:
    published, it would take requests with an X-Forwarded-For of the client's making; told none, it
    would count every login as the proxy's (tests/deploy/test_proxy.py runs both for real)."""

    def test_only_the_proxy_publishes_ports(self, compose):
        published = {name for name, service in compose["services"].items() if service.get("ports")}
        assert published == {"proxy"}
        assert compose["services"]["proxy"]["ports"] == ["${HTTP_PORT:-80}:80", "${HTTPS_PORT:-443}:443"]
        web = compose["services"]["web"]
        assert "network_mode" not in web
        assert web["expose"] == ["8000"]

    def test_the_web_trusts_the_one_proxy_in_front_of_it(self, compose):
        raw = compose["services"]["web"]["environment"]["TRUSTED_PROXY_COUNT"]
        assert compose_value(raw, {}) == "1"
        assert compose_value(raw, {"TRUSTED_PROXY_COUNT": "2"}) == "2"  # a load balancer of yours in front

    def test_the_proxy_serves_the_repositorys_site_in_front_of_the_web(self, compose):
        proxy = compose["services"]["proxy"]
        assert proxy["image"].startswith("nginx:")
        assert "./deploy/nginx/backoffice.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
        assert any(v.startswith("${TLS_CERT_DIR:?") and v.endswith(f":{CERTIFICATES}:ro") for v in proxy["volumes"])
        assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
        # The site's upstream is the web service on the port gunicorn binds.
        site = SITE.read_text()
        bind = compose["services"]["web"]["command"][compose["services"]["web"]["command"].index("--bind") + 1]
        assert bind == "0.0.0.0:8000"
        assert re.findall(r"^\s*server\s+(\S+);", site, re.M) == ["web:8000"]
        assert re.findall(r"^\s*listen\s+([^;]+);", site, re.M) == ["80", "443 ssl"]

    def test_the_proxy_takes_bodies_a_little_over_the_import_limit(self):
        from django.conf import settings

        limit = re.search(r"^\s*client_max_body_size\s+(\d+)m;", SITE.read_text(), re.M)
        assert limit, "no client_max_body_size: nginx would refuse any import over 1 MB"
        assert settings.CLIENT_IMPORT_MAX_MB < int(limit[1]) <= settings.CLIENT_IMPORT_MAX_MB * 1.25


class TestWorkerHealthCheck:
    """The worker's health check command, against a real worker on the test broker."""

    def test_it_passes_for_a_live_worker_and_fails_without_one(self, compose, tmp_path):
        check = compose["services"]["worker"]["healthcheck"]["test"]
        assert check[0] == "CMD-SHELL"
        assert "celery@$$HOSTNAME" in check[1]  # compose's escape for the container's $HOSTNAME
        name = f"health-{uuid.uuid4().hex[:8]}"
        command = check[1].replace("celery@$$HOSTNAME", f"{name}@{socket.gethostname()}")
        # The image has celery on its PATH; here it is in the virtualenv.
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        cluster = Cluster(tmp_path, env)
        try:
            quick = command.replace("--timeout 10", "--timeout 2")
            nobody = subprocess.run(quick, shell=True, cwd=ROOT, env=env, capture_output=True, text=True)
            assert nobody.returncode != 0
            assert "No nodes replied" in nobody.stdout + nobody.stderr
            worker = cluster.worker(name)
            deadline = time.monotonic() + 40
            while " ready." not in worker.log_path.read_text():
                assert worker.alive(), worker.tail()
                assert time.monotonic() < deadline, worker.tail()
                time.sleep(0.2)
            result = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "pong" in result.stdout
        finally:
            cluster.stop()


class TestDockerfile:
    def test_it_collects_static_files_and_serves_with_gunicorn_as_a_plain_user(self):
        text = (ROOT / "Dockerfile").read_text()
        assert re.search(r"^FROM python:3\.11", text, re.M)
        assert "pip install --require-hashes -r requirements.txt && pip check" in text
        assert "manage.py collectstatic --noinput" in text
        assert re.search(r"^USER backoffice$", text, re.M)
        assert '"gunicorn", "backoffice.wsgi:application"' in text
        ignored = (ROOT / ".dockerignore").read_text().split()
        assert {".venv", "var", ".env", ".git"} <= set(ignored)


@pytest.mark.django_db
class TestBeatHealth:
    def test_healthy_when_the_tick_ran_lately(self, capsys):
        task = periodic_task_processing()
        task.last_run_at = timezone.now() - timedelta(seconds=20)
        task.save()
        call_command("beat_health")
        assert "Beat sent 'Process active mailings'" in capsys.readouterr().out

    @pytest.mark.parametrize("ago", [None, timedelta(minutes=10)])
    def test_unhealthy_when_it_did_not(self, ago):
        task = periodic_task_processing()
        task.last_run_at = None if ago is None else timezone.now() - ago
        task.save()
        with pytest.raises(CommandError, match="Beat"):
            call_command("beat_health")

    def test_nothing_to_check_when_operators_disabled_the_tick(self, capsys):
        task = periodic_task_processing()
        task.enabled, task.last_run_at = False, None
        task.save()
        call_command("beat_health")
        assert "disabled" in capsys.readouterr().out
