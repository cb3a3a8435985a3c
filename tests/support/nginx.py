"""The compose file's reverse proxy without Docker: Debian's nginx serving deploy/nginx/backoffice.conf
with only its listening ports, its upstream and its certificate folder changed to this machine's,
inside an `http {}` block like the official image's /etc/nginx/nginx.conf.

Without nginx (or the openssl and curl its tests use) these tests are skipped, unless
REQUIRE_NGINX=1 (CI sets it) makes that a failure.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from backoffice.processes import ROOT, ManagedProcess, free_port, wait_for_port

NGINX = Path(os.environ.get("NGINX_PATH", "/usr/sbin/nginx"))
SITE = ROOT / "deploy" / "nginx" / "backoffice.conf"
CERTIFICATES = "/etc/nginx/certs"  # where compose mounts TLS_CERT_DIR


def require_tools() -> None:
    """Skip the test without nginx, openssl or curl; fail it instead under REQUIRE_NGINX=1."""
    missing = [str(NGINX)] if not NGINX.is_file() else []
    missing += [tool for tool in ("openssl", "curl") if not shutil.which(tool)]
    if not missing:
        return
    if os.environ.get("REQUIRE_NGINX") == "1":
        pytest.fail(f"REQUIRE_NGINX=1 but {', '.join(missing)} is missing (apt-get install nginx openssl curl)")
    pytest.skip(f"{', '.join(missing)} missing: apt-get install nginx openssl curl (CI does)")


def self_signed_certificate(folder: Path, address: str = "127.0.0.1") -> Path:
    """fullchain.pem and privkey.pem in `folder`, as TLS_CERT_DIR holds them, for this address."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", f"/CN={address}", "-addext", f"subjectAltName=IP:{address}",
         "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder / "fullchain.pem"


def render_site(text: str, *, http_port: int, https_port: int, upstream: str, certificates: Path) -> str:
    """The site's configuration with this machine's ports, upstream and certificate folder."""
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "server web:8000;": f"server {upstream};",
        f"{CERTIFICATES}/": f"{certificates}/",
    }
    for old, new in replacements.items():
        assert old in text, f"{SITE.relative_to(ROOT)} has no {old!r}: tell tests/support/nginx.py what took its place"
        text = text.replace(old, new)
    return text


def main_configuration(folder: Path, site: Path) -> str:
    """What the official image's nginx.conf does around conf.d/, in `folder` (logs, pid, temp files)."""
    # Run as root, nginx would start its workers as `nobody`, which cannot enter pytest's folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log stderr notice;\n"
        f"events {{\n    worker_connections 256;\n}}\n"
        f"http {{\n    access_log {folder / 'access.log'};\n{temp}\n    include {site};\n}}\n"
    )


@dataclass
class RunningProxy:
    process: ManagedProcess
    http_port: int
    https_port: int
    certificate: Path

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def start_proxy(folder: Path, upstream: str, attempts: int = 5) -> RunningProxy:
    """nginx with the repository's site in front of `upstream` (host:port), once both ports listen.

    nginx binds its ports itself: a port found free may be taken before it binds, so a start that
    fails on an address in use is tried again on other ports."""
    require_tools()
    folder.mkdir(parents=True, exist_ok=True)
    certificate = self_signed_certificate(folder / "certs")
    for attempt in range(attempts):
        http_port, https_port = free_port(), free_port()
        site = folder / "site.conf"
        site.write_text(
            render_site(
                SITE.read_text(),
                http_port=http_port,
                https_port=https_port,
                upstream=upstream,
                certificates=certificate.parent,
            )
        )
        conf = folder / "nginx.conf"
        conf.write_text(main_configuration(folder, site))
        process = ManagedProcess(
            f"nginx-{attempt}",
            [str(NGINX), "-e", "stderr", "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
            dict(os.environ),
            folder,
        )
        try:
            # Logged once its ports are bound and its workers start; a failed bind ends it first.
            process.wait_for_line(r"start worker process", timeout=30)
        except RuntimeError:
            process.stop()
            if "Address already in use" in process.log_path.read_text():
                continue
            raise RuntimeError(f"nginx did not start:\n{process.tail()}") from None
        except TimeoutError:
            process.stop()
            raise
        for port in (http_port, https_port):
            wait_for_port(port, timeout=15)
        return RunningProxy(process, http_port, https_port, certificate)
    raise RuntimeError(f"nginx found no free ports in {attempts} attempts:\n{process.tail()}")
