"""Start real ``prometheus`` and ``prometheus-alertmanager`` processes on loopback.

Used by the benchmarks and by the test fixtures: each server gets a free port, its own
temporary directory and a 1 s scrape/evaluation interval, and is stopped by PID.
Readiness means the server answers ``/-/ready``; for Prometheus, callers that need data
also wait with :func:`wait_for_up` (the first scrape lands ~5 s after start, because
Prometheus throttles service-discovery updates to one per 5 s).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

PROMETHEUS_BIN = "prometheus"
ALERTMANAGER_BIN = "prometheus-alertmanager"


class ServerError(RuntimeError):
    """A real server could not be started or did not become ready."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ServerError(
            f"{name} is not installed: apt-get install --no-install-recommends "
            "prometheus prometheus-alertmanager (or `make debs`)"
        )
    return path


@dataclass(kw_only=True)
class ServerProcess:
    """One running server: its process, address and working directory."""

    name: str
    argv: list[str]
    workdir: Path
    port: int
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    scheme: str = "http"
    #: httpx keyword arguments for the readiness probe (``verify``, ``auth``) on TLS/auth.
    probe: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, *, ready_timeout: float = 20.0) -> ServerProcess:
        """Start the process and wait until it answers ``/-/ready``."""
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        finally:
            log.close()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/-/ready", timeout=1.0, **self.probe).status_code == 200:
                    return self
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"{self.name} not ready after {ready_timeout}s: {self.tail()}")

    def stop(self) -> None:
        """Terminate by PID (SIGTERM, then SIGKILL after 5 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def kill(self) -> None:
        """Kill at once (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def prometheus(
    workdir: Path,
    *,
    targets: list[str],
    interval: str = "1s",
    rules: list[dict[str, Any]] | None = None,
    alertmanager: str | None = None,
    port: int | None = None,
    scrape_timeout: str | None = None,
    web_config: dict[str, Any] | None = None,
    probe: dict[str, Any] | None = None,
    remote_write: list[dict[str, Any]] | None = None,
    job: str = "aiops",
    flags: list[str] | None = None,
) -> ServerProcess:
    """A Prometheus (not yet started) scraping ``targets`` (``host:port``) as job ``aiops``.

    ``rules`` are rule groups written to ``rules.yaml``; ``alertmanager`` is
    ``host:port`` of an Alertmanager to send alerts to; ``web_config`` is Prometheus'
    ``--web.config.file`` (TLS, basic auth), with ``probe`` the httpx arguments (CA,
    credentials) the readiness check then needs; ``remote_write`` its ``remote_write``
    entries (:mod:`aiops.sources.prometheus_stanza`); ``flags`` more command-line flags.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    scrape: dict[str, Any] = {"job_name": job, "static_configs": [{"targets": targets}]}
    if scrape_timeout:
        scrape["scrape_timeout"] = scrape_timeout
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [scrape],
    }
    if rules:
        (workdir / "rules.yaml").write_text(yaml.safe_dump({"groups": rules}))
        config["rule_files"] = [str(workdir / "rules.yaml")]
    if remote_write:
        config["remote_write"] = remote_write
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    argv = [
        _binary(PROMETHEUS_BIN),
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
        *(flags or []),
    ]
    scheme = "http"
    if web_config:
        (workdir / "web.yml").write_text(yaml.safe_dump(web_config))
        argv.append(f"--web.config.file={workdir / 'web.yml'}")
        scheme = "https" if "tls_server_config" in web_config else "http"
    return ServerProcess(
        name="prometheus", argv=argv, workdir=workdir, port=port, scheme=scheme,
        probe=probe or {},
    )


def alertmanager(
    workdir: Path,
    *,
    webhook_url: str,
    port: int | None = None,
    group_wait: str = "0s",
    group_interval: str = "1s",
    repeat_interval: str = "1h",
    credentials_file: str | None = None,
    send_resolved: bool = True,
) -> ServerProcess:
    """An Alertmanager (not yet started) sending every alert to ``webhook_url``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    webhook: dict[str, Any] = {"url": webhook_url, "send_resolved": send_resolved}
    if credentials_file:
        webhook["http_config"] = {
            "authorization": {"type": "Bearer", "credentials_file": credentials_file}
        }
    config = {
        "route": {
            "receiver": "aiops",
            "group_by": ["alertname"],
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [{"name": "aiops", "webhook_configs": [webhook]}],
    }
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
    argv = [
        _binary(ALERTMANAGER_BIN),
        f"--config.file={workdir / 'alertmanager.yml'}",
        f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url=http://127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    return ServerProcess(name="alertmanager", argv=argv, workdir=workdir, port=port)


def query(url: str, promql: str, *, timeout: float = 2.0) -> list[dict[str, Any]]:
    """Result vector of an instant query (raises on HTTP or API errors)."""
    r = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=timeout)
    r.raise_for_status()
    body = r.json()
    if body.get("status") != "success":
        raise ServerError(f"query {promql!r} failed: {body}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_for(
    url: str, promql: str, *, min_series: int = 1, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Poll ``promql`` until it returns at least ``min_series`` series."""
    deadline = time.monotonic() + timeout
    last: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, ServerError):
            last = query(url, promql)
            if len(last) >= min_series:
                return last
        time.sleep(0.2)
    raise ServerError(
        f"{promql!r} returned {len(last)} series after {timeout}s (want {min_series})"
    )


def wait_for_up(url: str, target: str | None = None, *, timeout: float = 30.0) -> None:
    """Wait until Prometheus has scraped ``target`` (or any target) successfully."""
    sel = f'up{{instance="{target}"}} == 1' if target else "up == 1"
    wait_for(url, sel, timeout=timeout)
