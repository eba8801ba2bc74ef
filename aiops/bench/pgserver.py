"""Start a real PostgreSQL (Debian's ``postgresql``) in a temporary directory on loopback.

Used by ``aiops bench journal`` and by the test fixtures: ``initdb`` + ``pg_ctl`` into
a fresh directory, a free port on 127.0.0.1, no Unix socket outside that directory,
and password authentication over TCP (the superuser ``aiops``, a random password in a
file), so clients exercise the same credential path a deployment does. The server
refuses to run as root; as root it runs as the ``postgres`` user (``runuser``) on a
directory that user owns. Stopped by ``pg_ctl stop`` (then SIGKILL of the postmaster).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from aiops.bench.realservers import ServerError, free_port

#: Where Debian installs the server binaries (``initdb`` is not on PATH there).
DEBIAN_ROOT = Path("/usr/lib/postgresql")
DEBIAN_BINDIRS = f"{DEBIAN_ROOT}/*/bin"
SUPERUSER = "aiops"
INSTALL = "apt-get install --no-install-recommends postgresql (or `make debs`)"


def bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres`` (newest version)."""
    env = os.environ.get("AIOPS_PG_BINDIR")
    candidates = [Path(env)] if env else sorted(
        DEBIAN_ROOT.glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    for c in candidates:
        if (c / "initdb").is_file() and (c / "pg_ctl").is_file():
            return c
    found = shutil.which("initdb")
    if found is not None and shutil.which("pg_ctl"):
        return Path(found).parent
    raise ServerError(f"PostgreSQL server binaries not found (looked in {DEBIAN_BINDIRS}): "
                      f"{INSTALL}")


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


@dataclass(kw_only=True)
class PgServer:
    """One temporary PostgreSQL cluster; :meth:`start` it, :meth:`stop` it."""

    fast: bool = False  # fsync off: for tests of behaviour, never for benchmarks
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="aiops-pg-")))
    password: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @property
    def password_file(self) -> Path:
        """The superuser's password, for ``journal.password_file``."""
        return self.root / "password"

    def url(self, database: str = "postgres") -> str:
        """A URL without the password (the config's rule): pass :attr:`password_file`."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """A libpq connection string with the password, for the tests' own connections."""
        return (f"host=127.0.0.1 port={self.port} dbname={database} user={SUPERUSER} "
                f"password={self.password}")

    def _as_server_user(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def _run(self, argv: list[str], what: str) -> None:
        done = subprocess.run(self._as_server_user(argv), capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise ServerError(f"{what} failed ({done.returncode}): "
                              f"{(done.stderr or done.stdout).strip()[-2000:]}\n{self.tail()}")

    def start(self) -> PgServer:
        """``initdb`` and start the server; returns once it accepts connections."""
        bins = bindir()
        self.root.chmod(0o700)
        self.password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.password_file, "postgres", "postgres")
        self._run([str(bins / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-E", "UTF8",
                   "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256",
                   f"--pwfile={self.password_file}", "--no-sync"], "initdb")
        opts = [f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}", "-c max_connections=100"]
        if self.fast:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run([str(bins / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path),
                   "-w", "-t", "60", "-o", " ".join(opts), "start"], "pg_ctl start")
        return self

    def create_database(self, name: str) -> str:
        """Create database ``name``; its URL (see :meth:`url`)."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown, then SIGKILL) and remove its directory."""
        if self.data.exists():
            with contextlib.suppress(ServerError, subprocess.TimeoutExpired):
                self._run([str(bindir() / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                           "-w", "-t", "20", "stop"], "pg_ctl stop")
            self._kill_postmaster()
        shutil.rmtree(self.root, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        pid_file = self.data / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)

    def tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
