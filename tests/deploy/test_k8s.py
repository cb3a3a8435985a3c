"""The Kubernetes manifests (deploy/k8s), rendered by `kubectl kustomize` for each overlay and
validated offline against the schemas of KUBERNETES_VERSION, then held to the rules of
docs/operations.md ("Deploying to Kubernetes"): exactly one beat, probes on routes that exist,
one image everywhere, secrets only by reference, the same commands as docker-compose.yml,
resources and a locked-down security context on every container."""

import json
import os
import re
import subprocess
import sys

import pytest
from django.http.request import validate_host
from django.urls import Resolver404, resolve
from kubernetes_validate import utils as kubernetes_validate

from backoffice.processes import ROOT
from tests.support.compose import load_compose
from tests.support.kubectl import K8S_DIR, OVERLAYS, render

# The oldest Kubernetes release the manifests promise to work on (kubernetes-validate ships its schemas).
KUBERNETES_VERSION = "1.34.0"
SECRET_NAME = "backoffice-secrets"
SECRET_LOOKING = re.compile(r"PASSWORD|TOKEN|SECRET|KEY|DATABASE_URL|REDIS_URL|BROKER_URL|CACHE_URL")
UID = 10001
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request) -> list[dict]:
    return render(K8S_DIR / "overlays" / request.param)


@pytest.fixture(scope="module")
def settings_env_names() -> set[str]:
    """Every environment variable backoffice/settings.py reads, as it reads them (django-environ)."""
    script = (
        "import json, environ\n"
        "names = set()\n"
        "original = environ.Env.get_value\n"
        "def recording(self, var, *args, **kwargs):\n"
        "    names.add(var)\n"
        "    return original(self, var, *args, **kwargs)\n"
        "environ.Env.get_value = recording\n"
        "import backoffice.settings\n"
        "print(json.dumps(sorted(names)))\n"
    )
    env = {"PATH": os.environ["PATH"], "SECRET_KEY": "names-only", "DATABASE_URL": "sqlite:////tmp/names-only.sqlite3"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def of_kind(resources: list[dict], kind: str) -> list[dict]:
    return [resource for resource in resources if resource["kind"] == kind]


def one(resources: list[dict], kind: str, name: str) -> dict:
    (found,) = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


def pod_templates(resources: list[dict]) -> dict[str, dict]:
    """`Kind/name` -> the pod template of every workload."""
    templates = {}
    for resource in resources:
        if resource["kind"] in WORKLOADS:
            spec = resource["spec"]
            if resource["kind"] == "CronJob":
                spec = spec["jobTemplate"]["spec"]
            templates[f"{resource['kind']}/{resource['metadata']['name']}"] = spec["template"]
    return templates


def containers(template: dict) -> list[dict]:
    spec = template["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def all_containers(resources: list[dict]) -> list[tuple[str, dict]]:
    return [
        (f"{where}/{container['name']}", container)
        for where, template in pod_templates(resources).items()
        for container in containers(template)
    ]


def selects(selector: dict, labels: dict) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects these labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def config_map(resources: list[dict]) -> dict[str, str]:
    (found,) = [r for r in of_kind(resources, "ConfigMap") if r["metadata"]["name"].startswith("backoffice-config")]
    return found["data"]


def command_of(container: dict) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def workload_running(resources: list[dict], *words: str) -> list[str]:
    """The workloads whose main container's command holds these words in this order."""
    found = []
    for where, template in pod_templates(resources).items():
        for container in template["spec"]["containers"]:
            command = command_of(container)
            if any(command[i : i + len(words)] == list(words) for i in range(len(command))):
                found.append(where)
    return found


class TestRendering:
    def test_there_are_a_staging_and_a_production_overlay(self):
        assert {"staging", "production"} <= set(OVERLAYS)

    def test_every_resource_validates_strictly_against_the_pinned_kubernetes(self, rendered):
        for resource in rendered:
            # No schema (a custom resource) is a failure too: every kind here is Kubernetes's own.
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)

    def test_the_strict_validation_refuses_an_unknown_field(self, rendered):
        deployment = json.loads(json.dumps(of_kind(rendered, "Deployment")[0]))
        deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


class TestProcesses:
    def test_exactly_one_beat_recreated_never_rolled(self, rendered):
        beats = workload_running(rendered, "celery", "-A", "backoffice", "beat")
        assert beats == ["Deployment/backoffice-beat"]
        beat = one(rendered, "Deployment", "backoffice-beat")
        assert beat["spec"]["replicas"] == 1
        assert beat["spec"]["strategy"] == {"type": "Recreate"}
        for hpa in of_kind(rendered, "HorizontalPodAutoscaler"):
            assert hpa["spec"]["scaleTargetRef"]["name"] != "backoffice-beat"

    def test_the_processes_run_the_commands_of_the_compose_file(self, rendered):
        services = load_compose()["services"]
        expected = {
            # Its control socket in the writable /tmp: gunicorn's default is under $HOME, read-only here.
            "Deployment/backoffice-web": [*services["web"]["command"], "--control-socket", "/tmp/gunicorn.ctl"],
            "Deployment/backoffice-worker": services["worker"]["command"],
            "Deployment/backoffice-beat": services["beat"]["command"],
            "Job/backoffice-migrate": services["migrate"]["command"],
        }
        templates = pod_templates(rendered)
        assert set(templates) == set(expected)
        for where, command in expected.items():
            (container,) = templates[where]["spec"]["containers"]
            assert command_of(container) == command, where

    def test_new_pods_wait_for_the_migrations_the_job_runs(self, rendered):
        for where, template in pod_templates(rendered).items():
            if where.startswith("Job/"):
                continue
            init = template["spec"].get("initContainers", [])
            assert any("manage.py migrate --check" in " ".join(command_of(c)) for c in init), where
        job = one(rendered, "Job", "backoffice-migrate")
        # Removed some time after it finished, so that a later `kubectl apply -k` can create it again.
        assert job["spec"]["ttlSecondsAfterFinished"] > 0
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"

    def test_one_image_everywhere_set_by_the_overlay(self, rendered):
        images = {container["image"] for _, container in all_containers(rendered)}
        assert len(images) == 1, images
        (image,) = images
        assert re.fullmatch(r"[\w.\-/:]+/mailing-backoffice:[\w.\-]+", image), image
        assert not image.endswith(":latest")


class TestProbes:
    def test_every_http_probe_names_a_route_that_exists_on_a_port_of_the_container(self, rendered):
        from django.conf import settings

        allowed_hosts = config_map(rendered)["ALLOWED_HOSTS"].split(",")
        seen = 0
        for where, container in all_containers(rendered):
            ports = {p.get("name") for p in container.get("ports", [])} | {
                p["containerPort"] for p in container.get("ports", [])
            }
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                http = container.get(kind, {}).get("httpGet")
                if not http:
                    continue
                seen += 1
                path = http["path"]
                try:
                    resolve(path)
                except Resolver404:
                    pytest.fail(f"{where} {kind} {path}: no such URL in backoffice/urls.py")
                assert http["port"] in ports, f"{where} {kind}: port {http['port']} is not the container's"
                host = {h["name"]: h["value"] for h in http.get("httpHeaders", [])}.get("Host")
                assert host, f"{where} {kind}: no Host header (Django refuses the pod's address)"
                assert validate_host(host, allowed_hosts), f"{where} {kind}: Host {host} not in ALLOWED_HOSTS"
                # Plain HTTP to the pod: never redirected to HTTPS.
                assert any(re.match(p, path.lstrip("/")) for p in settings.SECURE_REDIRECT_EXEMPT), path
        assert seen >= 3

    def test_the_web_is_ready_on_readyz_and_alive_on_healthz(self, rendered):
        (web,) = one(rendered, "Deployment", "backoffice-web")["spec"]["template"]["spec"]["containers"]
        assert resolve(web["readinessProbe"]["httpGet"]["path"]).url_name == "readyz"
        assert resolve(web["livenessProbe"]["httpGet"]["path"]).url_name == "healthz"

    def test_the_worker_is_alive_by_its_heartbeat_file_without_importing_the_app(self, rendered):
        (worker,) = one(rendered, "Deployment", "backoffice-worker")["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in worker["env"]}
        assert env["WORKER_HEARTBEAT_FILE"].startswith("/tmp/")  # on the writable emptyDir
        for kind in ("startupProbe", "livenessProbe"):
            command = " ".join(worker[kind]["exec"]["command"])
            assert "WORKER_HEARTBEAT_FILE" in command
            for heavy in ("manage.py", "django", "celery", "backoffice", "import environ"):
                assert heavy not in command, f"the worker's {kind} runs {heavy}: {command}"

    def test_the_web_pods_are_scraped_on_metrics(self, rendered):
        template = one(rendered, "Deployment", "backoffice-web")["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert resolve(annotations["prometheus.io/path"]).url_name == "metrics"
        ports = {str(p["containerPort"]) for p in template["spec"]["containers"][0]["ports"]}
        assert annotations["prometheus.io/port"] in ports


class TestConfiguration:
    def test_no_secret_is_rendered(self, rendered):
        assert not of_kind(rendered, "Secret"), "the Secret is the operator's: none in the manifests"
        for key, value in config_map(rendered).items():
            assert not SECRET_LOOKING.search(key), f"ConfigMap holds {key}: it belongs in {SECRET_NAME}"
            assert not re.search(r"://[^/@\s]*:[^/@\s]*@", value), f"ConfigMap {key} holds a URL with a password"
        for where, container in all_containers(rendered):
            for entry in container.get("env", []):
                if SECRET_LOOKING.search(entry["name"]):
                    assert "value" not in entry, f"{where}: {entry['name']} is inline"
                    assert entry["valueFrom"]["secretKeyRef"]["name"] == SECRET_NAME, where
            for source in container.get("envFrom", []):
                assert "secretRef" not in source or source["secretRef"]["name"] == SECRET_NAME

    def test_every_container_that_runs_the_app_has_its_secrets(self, rendered):
        for where, container in all_containers(rendered):
            names = {e["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
            assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= names, where
            assert any(
                s.get("configMapRef", {}).get("name", "").startswith("backoffice-config") for s in container["envFrom"]
            )

    def test_every_variable_set_is_one_the_settings_read(self, rendered, settings_env_names):
        assert "WORKER_HEARTBEAT_FILE" in settings_env_names  # the recorder sees the settings
        unknown = set(config_map(rendered)) - settings_env_names
        for _, container in all_containers(rendered):
            unknown |= {e["name"] for e in container.get("env", [])} - settings_env_names
        assert not unknown, f"not read by backoffice/settings.py: {sorted(unknown)}"

    def test_behind_the_ingress_the_proxy_settings_agree(self, rendered):
        config = config_map(rendered)
        assert config["DEBUG"] == "0"
        assert config["TRUSTED_PROXY_COUNT"] == "1"  # the ingress controller
        assert config["SECURE_PROXY_SSL_HEADER"] == "X-Forwarded-Proto"
        allowed = config["ALLOWED_HOSTS"].split(",")
        assert "localhost" in allowed  # the probes' Host
        (ingress,) = of_kind(rendered, "Ingress")
        hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
        assert hosts
        assert all(validate_host(host, allowed) for host in hosts), (hosts, allowed)
        assert {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]} == set(hosts)
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
        service = one(rendered, "Service", backend)
        web_labels = one(rendered, "Deployment", "backoffice-web")["spec"]["template"]["metadata"]["labels"]
        assert selects({"matchLabels": service["spec"]["selector"]}, web_labels)

    def test_client_imports_wait_on_a_volume_every_web_pod_shares(self, rendered):
        folder = config_map(rendered)["CLIENT_IMPORT_UPLOAD_DIR"]
        spec = one(rendered, "Deployment", "backoffice-web")["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        (mount,) = [m for m in spec["containers"][0]["volumeMounts"] if folder.startswith(m["mountPath"] + "/")]
        claim = one(rendered, "PersistentVolumeClaim", volumes[mount["name"]]["persistentVolumeClaim"]["claimName"])
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


class TestContainers:
    def test_every_container_has_requests_and_limits(self, rendered):
        for where, container in all_containers(rendered):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{where} has no {bound}"
            for kind in ("cpu", "memory"):
                assert quantity(resources["requests"][kind]) <= quantity(resources["limits"][kind]), (where, kind)

    def test_every_pod_runs_as_the_image_user_on_a_read_only_root(self, rendered):
        (account,) = of_kind(rendered, "ServiceAccount")
        assert account["automountServiceAccountToken"] is False
        for where, template in pod_templates(rendered).items():
            pod = template["spec"]
            assert pod["automountServiceAccountToken"] is False, where
            assert pod["serviceAccountName"] == account["metadata"]["name"], where
            pod_security = pod.get("securityContext", {})
            writable = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
            for container in containers(template):
                name = f"{where}/{container['name']}"
                security = {**pod_security, **container.get("securityContext", {})}
                assert security.get("runAsNonRoot") is True, name
                assert security.get("runAsUser") == UID, name
                assert security.get("readOnlyRootFilesystem") is True, name
                assert security.get("allowPrivilegeEscalation") is False, name
                assert security.get("capabilities", {}).get("drop") == ["ALL"], name
                assert security.get("seccompProfile") == {"type": "RuntimeDefault"}, name
                # Python's and gunicorn's temporary files: /tmp is an emptyDir, the rest is read-only.
                tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
                assert tmp, f"{name} has no /tmp"
                assert tmp[0]["name"] in writable, f"{name}: /tmp is not an emptyDir"


class TestScalingAndDisruptions:
    def test_the_autoscaler_scales_the_workers_alone(self, rendered):
        (hpa,) = of_kind(rendered, "HorizontalPodAutoscaler")
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", "backoffice-worker")
        assert workload_running(rendered, "celery", "-A", "backoffice", "worker") == ["Deployment/backoffice-worker"]
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # The autoscaler owns the count: a `replicas` here would reset it at every apply.
        assert "replicas" not in one(rendered, "Deployment", "backoffice-worker")["spec"]

    def test_every_disruption_budget_selects_pods_and_none_holds_beat(self, rendered):
        templates = pod_templates(rendered)
        budgets = of_kind(rendered, "PodDisruptionBudget")
        covered = set()
        for budget in budgets:
            selected = {w for w, t in templates.items() if selects(budget["spec"]["selector"], t["metadata"]["labels"])}
            assert selected, f"{budget['metadata']['name']} selects no pod"
            covered |= selected
        assert covered == {"Deployment/backoffice-web", "Deployment/backoffice-worker"}


class TestNetworkPolicies:
    def policies(self, rendered) -> dict[str, dict]:
        return {p["metadata"]["name"]: p for p in of_kind(rendered, "NetworkPolicy")}

    def test_only_the_ingress_controller_and_prometheus_reach_the_web(self, rendered):
        templates = pod_templates(rendered)
        web_labels = templates["Deployment/backoffice-web"]["metadata"]["labels"]
        policies = [p for p in self.policies(rendered).values() if selects(p["spec"]["podSelector"], web_labels)]
        assert len(policies) == 1, [p["metadata"]["name"] for p in policies]
        (policy,) = policies
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        namespaces = []
        for rule in policy["spec"]["ingress"]:
            assert [p["port"] for p in rule["ports"]] == [8000]
            for peer in rule["from"]:
                # A namespace named, never every namespace (an empty selector), never a pod or address.
                assert set(peer) == {"namespaceSelector"}, peer
                assert peer["namespaceSelector"]["matchLabels"], peer
                namespaces.append(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"])
        assert len(set(namespaces)) == len(namespaces) == 2, namespaces

    def test_the_other_app_pods_take_no_connection(self, rendered):
        for where, template in pod_templates(rendered).items():
            if where == "Deployment/backoffice-web":
                continue
            labels = template["metadata"]["labels"]
            policies = [p for p in self.policies(rendered).values() if selects(p["spec"]["podSelector"], labels)]
            assert policies, f"{where} is selected by no NetworkPolicy"
            assert all(not p["spec"].get("ingress") and "Ingress" in p["spec"]["policyTypes"] for p in policies), where

    @pytest.mark.parametrize(("server", "port"), [("postgresql", 5432), ("redis", 6379)])
    def test_only_the_app_reaches_postgresql_and_redis(self, rendered, server, port):
        policy = self.policies(rendered)[f"backoffice-{server}"]
        assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": server}}
        (rule,) = policy["spec"]["ingress"]
        assert [p["port"] for p in rule["ports"]] == [port]
        (peer,) = rule["from"]
        assert set(peer) == {"podSelector"}, peer
        assert peer["podSelector"]["matchLabels"], peer
        for where, template in pod_templates(rendered).items():
            assert selects(peer["podSelector"], template["metadata"]["labels"]), f"{where} cannot reach {server}"
        assert not selects(peer["podSelector"], {"app.kubernetes.io/name": "something-else"})


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity (250m, 1, 512Mi, 1Gi) as a number."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    assert match, value
    return float(match[1]) * units.get(match[2], 1)
