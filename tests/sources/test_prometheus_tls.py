"""PrometheusSource against a real Prometheus serving TLS with basic auth (web config)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops.bench import realservers
from aiops.config.sources import PrometheusConfig, PrometheusQuery
from aiops.errors import SourceUnavailable
from aiops.sources.prometheus import PrometheusSource
from tests.realservers.tls import PASSWORD, PASSWORD_BCRYPT, Certs, make_certs

QUERY = PrometheusQuery(name="one", query="vector(1)", keep_labels=[])


@pytest.fixture(scope="module")
def secure_prom(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[realservers.ServerProcess, Certs, Path]]:
    """A Prometheus on https://127.0.0.1 requiring user `aiops` with a bcrypt password."""
    tmp = tmp_path_factory.mktemp("tls-prom")
    certs = make_certs(tmp / "certs")
    (tmp / "password").write_text(PASSWORD + "\n")
    prom = realservers.prometheus(
        tmp / "prom", targets=[],
        web_config={"tls_server_config": {"cert_file": str(certs.cert), "key_file": str(certs.key)},
                    "basic_auth_users": {"aiops": PASSWORD_BCRYPT}},
        probe={"verify": ssl.create_default_context(cafile=str(certs.ca)),
               "auth": ("aiops", PASSWORD)},
    )
    with prom.start():
        yield prom, certs, tmp


def test_ca_file_and_basic_auth_reach_a_tls_prometheus(
    secure_prom: tuple[realservers.ServerProcess, Certs, Path],
) -> None:
    """With the CA bundle and the password file, queries over TLS + basic auth succeed."""
    prom, _, tmp = secure_prom
    assert prom.url.startswith("https://")
    src = PrometheusSource(PrometheusConfig(
        url=prom.url, ca_file="certs/ca.pem", basic_auth_user="aiops",
        basic_auth_password_file="password", queries=[QUERY]), base_dir=tmp)
    assert [(s.key.metric, s.value) for s in src.pull(time.time())] == [("one", 1.0)]
    src.close()


def test_unknown_ca_is_refused(secure_prom: tuple[realservers.ServerProcess, Certs, Path]) -> None:
    """Without the CA the certificate is not trusted: SourceUnavailable, nothing pulled."""
    prom, _, tmp = secure_prom
    src = PrometheusSource(PrometheusConfig(
        url=prom.url, basic_auth_user="aiops", basic_auth_password_file=str(tmp / "password"),
        queries=[QUERY], retries=0))
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        src.pull(time.time())


def test_wrong_password_is_401_and_not_retried(
    secure_prom: tuple[realservers.ServerProcess, Certs, Path],
) -> None:
    """A rejected credential maps to SourceUnavailable naming 401, without retries."""
    prom, certs, tmp = secure_prom
    (tmp / "wrong").write_text("nope")
    pauses: list[float] = []
    src = PrometheusSource(PrometheusConfig(
        url=prom.url, ca_file=str(certs.ca), basic_auth_user="aiops",
        basic_auth_password_file=str(tmp / "wrong"), queries=[QUERY], retries=3),
        sleep=pauses.append)
    with pytest.raises(SourceUnavailable, match="401"):
        src.pull(time.time())
    assert pauses == []
