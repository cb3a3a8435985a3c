"""The CI pipelines for GitLab (.gitlab-ci.yml) and GitHub (.github/workflows/ci.yml), checked here
without either service: each file against its published schema (check-jsonschema's vendored copy,
offline), each job's content against what .ci/run does (lint, then the suite twice on PostgreSQL and
Redis with Chromium, nginx and kubectl), and .ci/run itself with stand-ins for the tools it calls, so
that the pipelines can run it on their service containers as it runs here on the machine's own."""

import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from backoffice.processes import ROOT
from tests.support.compose import load_compose

GITLAB = ROOT / ".gitlab-ci.yml"
GITHUB = ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = ROOT / ".ci" / "run"
SCHEMAS = {GITLAB: "vendor.gitlab-ci", GITHUB: "vendor.github-workflows"}
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
# GitLab's top-level keywords; every other key not starting with "." is a job.
GITLAB_KEYWORDS = {"default", "include", "stages", "variables", "workflow", "image", "services", "cache",
                   "before_script", "after_script", "spec"}  # fmt: skip


def shell_lines(text: str) -> list[str]:
    """The commands of a shell script: continuation lines joined, comments and blank lines left out."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def with_ci_run(commands: list[str]) -> list[str]:
    """The commands, with a call of .ci/run replaced by the commands .ci/run runs."""
    expanded = []
    for command in commands:
        if re.fullmatch(r"(bash\s+)?(\./)?\.ci/run", command):
            expanded += shell_lines(CI_RUN.read_text())
        else:
            expanded.append(command)
    return expanded


@dataclass
class Job:
    name: str
    image: str  # the container the commands run in; "" on the runner itself
    python: str  # the Python version the job sets up, or its image's
    env: dict[str, str]
    services: dict[str, dict]  # host name -> {"image": ..., "env": {...}}
    own_commands: list[str]  # the shell commands the file names
    raw: dict = field(repr=False)

    @property
    def commands(self) -> list[str]:
        """Every shell command the job runs, .ci/run's included."""
        return with_ci_run(self.own_commands)

    def apt_packages(self) -> set[str]:
        """What the job itself installs (.ci/run's own installs of a missing tool are its fallback)."""
        packages = set()
        for command in self.own_commands:
            if "apt-get install" in command:
                words = command.split("apt-get install", 1)[1].split()
                packages.update(w for w in words if not w.startswith(("-", ">", "<", "/", "&", "|")))
        return packages

    def runs(self, pattern: str) -> list[int]:
        """The positions of the commands that match `pattern`."""
        return [i for i, command in enumerate(self.commands) if re.search(pattern, command)]


def _python_of(image: str) -> str:
    match = re.fullmatch(r"(?:docker\.io/)?(?:library/)?python:(\d+\.\d+)[.\w-]*", image)
    return match[1] if match else ""


def gitlab_jobs(data: dict | None = None) -> dict[str, Job]:
    data = data if data is not None else yaml.safe_load(GITLAB.read_text())
    default = data.get("default", {})
    jobs = {}
    for name, job in data.items():
        if name in GITLAB_KEYWORDS or name.startswith(".") or not isinstance(job, dict):
            continue
        image = job.get("image", default.get("image", data.get("image", "")))
        image = image["name"] if isinstance(image, dict) else image
        services = {}
        for service in job.get("services", default.get("services", [])):
            service = {"name": service} if isinstance(service, str) else service
            host = service.get("alias") or service["name"].split(":")[0].split("/")[-1]
            services[host] = {"image": service["name"], "env": service.get("variables", {})}
        script = [
            *job.get("before_script", default.get("before_script", [])),
            *job.get("script", []),
        ]
        flat = [line for item in script for line in (item if isinstance(item, list) else [item])]
        commands = [line for item in flat for line in shell_lines(item)]
        env = {**data.get("variables", {}), **job.get("variables", {})}
        jobs[name] = Job(name, image, _python_of(image), env, services, commands, job)
    return jobs


def github_jobs(data: dict | None = None) -> dict[str, Job]:
    data = data if data is not None else yaml.safe_load(GITHUB.read_text())
    jobs = {}
    for name, job in data["jobs"].items():
        container = job.get("container", "")
        image = container["image"] if isinstance(container, dict) else container
        python = _python_of(image)
        commands = []
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/setup-python@"):
                python = str(step.get("with", {}).get("python-version", ""))
            if "run" in step:
                commands += shell_lines(step["run"])
        services = {}
        for key, service in job.get("services", {}).items():
            # A container job reaches a service by its key; a job on the runner by a published port.
            host = key if image else "127.0.0.1"
            services[host] = {"image": service["image"], "env": service.get("env", {})}
        env = {**data.get("env", {}), **job.get("env", {})}
        jobs[name] = Job(name, image, python, env, services, commands, job)
    return jobs


PIPELINES = {"gitlab": gitlab_jobs, "github": github_jobs}


def suite_job(jobs: dict[str, Job]) -> Job:
    """The job that runs the suite (`make test`)."""
    found = [job for job in jobs.values() if job.runs(r"\bmake test\b")]
    assert len(found) == 1, [job.name for job in found]
    return found[0]


def check_schema(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with the schema it ships for `path`'s kind of file. A proxy that refuses
    every connection stands in for the network: a schema it had to download would fail the check."""
    refused = "http://127.0.0.1:9"
    env = {**os.environ, "HTTP_PROXY": refused, "HTTPS_PROXY": refused, "http_proxy": refused,
           "https_proxy": refused, "NO_PROXY": "", "no_proxy": ""}  # fmt: skip
    command = [str(CHECK_JSONSCHEMA), "--no-cache", "--builtin-schema", SCHEMAS[path], str(path)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


class TestSchemas:
    @pytest.mark.parametrize("path", [GITLAB, GITHUB], ids=["gitlab", "github"])
    def test_it_accepts_each_pipeline(self, path):
        checked = check_schema(path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "validation done" in checked.stdout

    @pytest.mark.parametrize(
        ("path", "break_it"),
        [
            (GITLAB, lambda data: data["test"].update(services="postgres:16")),  # a list, not a string
            (GITLAB, lambda data: data["lint"].update(when="sometimes")),
            (GITHUB, lambda data: data["jobs"]["test"].pop("runs-on")),
            (GITHUB, lambda data: data["jobs"]["lint"]["steps"][0].update(uses=None, run=None)),
        ],
        ids=["gitlab-services", "gitlab-when", "github-runs-on", "github-step"],
    )
    def test_it_refuses_a_broken_copy(self, tmp_path, path, break_it):
        data = yaml.safe_load(path.read_text())
        break_it(data)
        broken = tmp_path / path.name
        broken.write_text(yaml.safe_dump(data, sort_keys=False))
        checked = subprocess.run(
            [str(CHECK_JSONSCHEMA), "--no-cache", "--builtin-schema", SCHEMAS[path], str(broken)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 1, checked.stdout + checked.stderr
        assert "Schema validation errors" in checked.stdout + checked.stderr


@pytest.fixture(params=list(PIPELINES))
def jobs(request) -> dict[str, Job]:
    return PIPELINES[request.param]()


class TestWhatTheyRun:
    def test_a_lint_job_runs_make_lint(self, jobs):
        linting = [job for job in jobs.values() if job.runs(r"^make lint$")]
        assert linting, "no job runs `make lint`"
        assert all(not job.runs(r"\bmake test\b") for job in linting)  # a job of its own

    def test_the_suite_runs_in_file_order_on_a_fresh_database_then_shuffled_with_a_seed(self, jobs):
        job = suite_job(jobs)
        first = job.runs(r"^make test PYTEST_ARGS=\"--create-db\"$")
        shuffled = job.runs(r"^make test PYTEST_ARGS=\"-p randomly --randomly-seed=\$SEED\"$")
        assert len(first) == 1, job.commands
        assert len(shuffled) == 1, job.commands
        assert first[0] < shuffled[0]
        assert job.runs(r"^echo .*--randomly-seed=\$SEED")  # the seed is printed, to replay the order

    def test_every_job_runs_python_3_11(self, jobs):
        assert {job.name: job.python for job in jobs.values()} == {name: "3.11" for name in jobs}

    def test_the_suite_runs_on_debian_where_chromium_is_debians_package(self, jobs):
        assert re.fullmatch(r"python:3\.11-bookworm", suite_job(jobs).image)


class TestServices:
    def test_postgresql_and_redis_are_the_compose_files_versions(self, jobs):
        compose = load_compose()["services"]
        images = sorted(service["image"] for service in suite_job(jobs).services.values())
        assert images == sorted([compose["postgres"]["image"], compose["redis"]["image"]])
        assert images == ["postgres:16", "redis:7"]

    def test_postgresql_lets_the_ci_user_in_without_a_password(self, jobs):
        postgres = next(s for s in suite_job(jobs).services.values() if s["image"].startswith("postgres:"))
        assert postgres["env"].get("POSTGRES_HOST_AUTH_METHOD") == "trust"

    def test_the_suite_is_pointed_at_the_service_hosts(self, jobs):
        job = suite_job(jobs)
        hosts = {s["image"].split(":")[0]: host for host, s in job.services.items()}
        assert job.env["PGHOST"] == hosts["postgres"]
        assert job.env["PGUSER"] == "postgres"
        # The test settings' defaults name 127.0.0.1, where a service container is not.
        for name in ("REDIS_URL", "CACHE_URL"):
            assert re.fullmatch(rf"redis://{re.escape(hosts['redis'])}:6379/14", job.env[name]), name
        # .ci/run builds DATABASE_URL from PGHOST (see TestCiRun).
        assert job.runs(r'^export DATABASE_URL="postgres://\$PGUSER@\$PGHOST:\$PGPORT/\$DB_NAME"$')

    def test_the_tools_ci_run_calls_are_installed(self, jobs):
        # psql and pg_isready, redis-cli, and redis-server for the broker-restart fault test.
        assert {"postgresql-client", "redis-tools", "redis-server"} <= suite_job(jobs).apt_packages()


class TestRequiredTools:
    def test_chromium_is_installed_and_required(self, jobs):
        job = suite_job(jobs)
        assert "chromium" in job.apt_packages()
        assert job.env.get("REQUIRE_BROWSER") == "1"
        assert job.env.get("CHROMIUM_PATH", "/usr/bin/chromium") == "/usr/bin/chromium"

    def test_nginx_openssl_and_curl_are_installed_and_required(self, jobs):
        job = suite_job(jobs)
        assert {"nginx", "openssl", "curl"} <= job.apt_packages()
        assert job.env.get("REQUIRE_NGINX") == "1"

    def test_a_pinned_kubectl_is_installed_checked_and_required(self, jobs):
        job = suite_job(jobs)
        assert job.env.get("REQUIRE_KUBECTL") == "1"
        assert re.fullmatch(r"v\d+\.\d+\.\d+", job.env["KUBECTL_VERSION"])
        assert re.fullmatch(r"[0-9a-f]{64}", job.env["KUBECTL_SHA256"])
        download = job.runs(r"https://dl\.k8s\.io/release/\$KUBECTL_VERSION/bin/linux/amd64/kubectl")
        check = job.runs(r'^echo "\$KUBECTL_SHA256  /usr/local/bin/kubectl" \| sha256sum --check')
        made_runnable = job.runs(r"^chmod 0755 /usr/local/bin/kubectl$")
        assert len(download) == len(check) == len(made_runnable) == 1, job.commands
        assert download[0] < check[0] < made_runnable[0] < job.runs(r"^make test")[0]

    def test_both_pipelines_pin_the_same_kubectl(self):
        pinned = [
            {k: v for k, v in suite_job(load()).env.items() if k.startswith("KUBECTL_")} for load in PIPELINES.values()
        ]
        assert pinned[0] == pinned[1]


class TestGithubSpecifics:
    def test_every_action_is_pinned_to_a_commit(self):
        steps = [step for job in github_jobs().values() for step in job.raw.get("steps", [])]
        uses = [step["uses"] for step in steps if "uses" in step]
        assert uses
        assert [u for u in uses if not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", u)] == []

    def test_pip_downloads_are_cached_by_the_locks(self):
        locks = ["requirements.txt", "requirements-dev.txt"]
        for job in github_jobs().values():
            steps = job.raw["steps"]
            setup = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
            cache = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
            if setup:
                assert setup[0]["with"]["cache"] == "pip"
                assert setup[0]["with"]["cache-dependency-path"].split() == locks
            else:
                assert cache[0]["with"]["path"] == "~/.cache/pip", job.name
                assert "hashFiles('requirements.txt', 'requirements-dev.txt')" in cache[0]["with"]["key"]


class TestGitlabSpecifics:
    def test_pip_downloads_are_cached_by_the_locks(self):
        data = yaml.safe_load(GITLAB.read_text())
        assert data["variables"]["PIP_CACHE_DIR"] == "$CI_PROJECT_DIR/.cache/pip"
        for job in gitlab_jobs().values():
            assert job.raw["cache"]["key"]["files"] == ["requirements.txt", "requirements-dev.txt"]
            assert job.raw["cache"]["paths"] == [".cache/pip"]
        assert ".cache/" in (ROOT / ".gitignore").read_text().splitlines()  # never part of a clone


# --- .ci/run with stand-ins: what it calls, with and without the pipelines' settings ----------------

STAND_IN = """#!/bin/bash
# Logs its name, arguments and the database it was given; answers as the state folder says: a
# service "up" answers, one "starting" answers from the next call on, any other does not.
echo "$(basename "$0") $* [DATABASE_URL=${DATABASE_URL:-}]" >> "$STATE/calls"
answers() { [ -e "$STATE/$1-up" ] && return 0; [ -e "$STATE/$1-starting" ] && touch "$STATE/$1-up"; return 1; }
case "$(basename "$0")" in
  pg_isready) answers postgres ;;
  redis-cli) answers redis ;;
  pg_ctlcluster) touch "$STATE/postgres-up" ;;
  redis-server) touch "$STATE/redis-up" ;;
esac
"""


def run_ci(tmp_path: Path, env: dict[str, str], state_of: tuple[str, ...]) -> list[str]:
    """.ci/run in a copy of the folder, with every tool it calls replaced by a stand-in; its calls."""
    (tmp_path / "project" / ".ci").mkdir(parents=True)
    script = tmp_path / "project" / ".ci" / "run"
    script.write_text(CI_RUN.read_text())
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("pg_isready", "pg_ctlcluster", "psql", "redis-cli", "redis-server", "make", "apt-get"):
        (tools / name).write_text(STAND_IN)
        (tools / name).chmod(stat.S_IRWXU)
    state = tmp_path / "state"
    state.mkdir()
    for service_state in state_of:  # "postgres-up", "redis-starting"...
        (state / service_state).touch()
    base = {"PATH": f"{tools}:/usr/bin:/bin", "HOME": str(tmp_path), "STATE": str(state), "RANDOMLY_SEED": "4242"}
    ran = subprocess.run(["bash", str(script)], env={**base, **env}, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    calls = (state / "calls").read_text().splitlines()
    return [call for call in calls if not call.startswith("apt-get")]  # Chromium or nginx missing here


class TestCiRun:
    def test_with_nothing_set_it_starts_and_uses_this_machines_services(self, tmp_path):
        calls = run_ci(tmp_path, {}, state_of=())
        url = "postgres://postgres@127.0.0.1:5432/backoffice_ci"
        assert calls[0] == "pg_isready -q -h 127.0.0.1 -p 5432 [DATABASE_URL=]"
        assert calls[1].startswith("pg_ctlcluster --skip-systemctl-redirect ")
        assert "redis-cli -u redis://127.0.0.1:6379/14 ping [DATABASE_URL=]" in calls
        assert any(call.startswith("redis-server --daemonize yes --bind 127.0.0.1 ") for call in calls)
        assert [call for call in calls if call.startswith("psql")] == [
            f"psql -q -h 127.0.0.1 -p 5432 -U postgres -d postgres -c {sql} [DATABASE_URL=]"
            for sql in [
                "DROP DATABASE IF EXISTS backoffice_ci WITH (FORCE)",
                "CREATE DATABASE backoffice_ci",
                "DROP DATABASE IF EXISTS test_backoffice_ci WITH (FORCE)",
            ]
        ]
        assert [call for call in calls if call.startswith("make")] == [
            f"make test PYTEST_ARGS=--create-db [DATABASE_URL={url}]",
            f"make test PYTEST_ARGS=-p randomly --randomly-seed=4242 [DATABASE_URL={url}]",
        ]

    def test_with_the_pipelines_settings_it_uses_their_services_and_starts_nothing(self, tmp_path):
        calls = run_ci(tmp_path, self.pipeline_env(), state_of=("postgres-up", "redis-up"))
        url = "postgres://postgres@postgres:5432/backoffice_ci"
        assert not [call for call in calls if call.startswith(("pg_ctlcluster", "redis-server"))]
        assert calls[:2] == [
            "pg_isready -q -h postgres -p 5432 [DATABASE_URL=]",
            "pg_isready -h postgres -p 5432 [DATABASE_URL=]",
        ]
        assert "redis-cli -u redis://redis:6379/14 ping [DATABASE_URL=]" in calls
        assert all(" -h postgres " in call for call in calls if call.startswith("psql"))
        assert [call for call in calls if call.startswith("make")] == [
            f"make test PYTEST_ARGS=--create-db [DATABASE_URL={url}]",
            f"make test PYTEST_ARGS=-p randomly --randomly-seed=4242 [DATABASE_URL={url}]",
        ]

    def test_it_waits_for_the_pipelines_services_that_are_still_starting_and_starts_none(self, tmp_path):
        calls = run_ci(tmp_path, self.pipeline_env(), state_of=("postgres-starting", "redis-starting"))
        assert not [call for call in calls if call.startswith(("pg_ctlcluster", "redis-server"))]
        assert [call.split(" [")[0] for call in calls[:5]] == [
            "pg_isready -q -h postgres -p 5432",  # not yet
            "pg_isready -q -h postgres -p 5432",  # in the loop that waits
            "pg_isready -h postgres -p 5432",
            "redis-cli -u redis://redis:6379/14 ping",  # not yet
            "redis-cli -u redis://redis:6379/14 ping",  # in the loop that waits
        ]

    @staticmethod
    def pipeline_env() -> dict[str, str]:
        """What both pipelines' test jobs give .ci/run (the same: see TestServices)."""
        names = ("PGHOST", "PGPORT", "PGUSER", "REDIS_URL")
        given = [{name: suite_job(load()).env[name] for name in names} for load in PIPELINES.values()]
        assert given[0] == given[1]
        return given[0]
