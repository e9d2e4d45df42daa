"""A throwaway Postgres server for tests: Debian's postgresql binaries, a data directory in a
temporary directory, loopback only, trust auth, no fsync.

`PostgresServer` runs one server; the `postgres_server` fixture starts it once per test
session and `postgres_url` hands each test a fresh, empty database on it. `database_url`
runs a test once on SQLite and once on Postgres. Test modules register the fixtures with
`pytest_plugins = ["tests.support.postgres"]`.

Postgres refuses to run as root, so when the tests run as root the server runs as the
`postgres` user the Debian package creates.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import psycopg
import pytest
from psycopg import sql

from recap.embedded.ports import free_port

# Debian keeps the server binaries out of PATH, one directory per major version.
_DEBIAN_BIN_DIRS = "/usr/lib/postgresql/*/bin"
_SERVER_USER = "postgres"
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_INSTALL_HINT = (
    "install Debian's server with "
    "`apt-get update && apt-get install -y --no-install-recommends postgresql` "
    "(.ci/run does this when initdb is missing)"
)


class PostgresUnavailable(RuntimeError):
    """Postgres is not installed here, or the test server cannot start."""


def postgres_bin_dir() -> Path:
    """The directory holding initdb, pg_ctl and postgres: from PATH, else Debian's newest."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []

    def major(path: Path) -> int:
        version = path.parent.name
        return int(version) if version.isdigit() else 0

    candidates += sorted(Path("/").glob(_DEBIAN_BIN_DIRS.lstrip("/")), key=major, reverse=True)
    for directory in candidates:
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise PostgresUnavailable(
        f"no Postgres server binaries (initdb, pg_ctl, postgres) on PATH or in "
        f"{_DEBIAN_BIN_DIRS}: {_INSTALL_HINT}"
    )


class PostgresServer:
    """One Postgres server on 127.0.0.1 and a free port, its data in a temporary directory.

    `url` is the SQLAlchemy URL of its `recap` database; `create_database()` makes another,
    empty one. `stop()` and `start()` take the server down and back up on the same port and
    data, as an outage would; `close()` stops it and deletes everything.
    """

    def __init__(self, database: str = "recap") -> None:
        self.bin_dir = postgres_bin_dir()
        self.database = _checked_name(database)
        self.port = 0
        self._user = self._server_user()
        self._root = Path(tempfile.mkdtemp(prefix="recap-postgres-"))
        self.data_dir = self._root / "data"
        self.socket_dir = self._root
        self.log_file = self._root / "postgres.log"
        self._names = itertools.count(1)
        self._initialized = False
        self._running = False
        self._watchdog: subprocess.Popen[bytes] | None = None
        if self._user is not None:
            shutil.chown(self._root, user=self._user.pw_uid, group=self._user.pw_gid)
        atexit.register(self.close)

    @property
    def running(self) -> bool:
        return self._running

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{_SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        """Start the server (initializing its data directory the first time) and wait until
        it accepts connections. A restart keeps the port and the data."""
        if self._running:
            return self
        if not self._initialized:
            self._watch_this_process()
            self._run(
                "initdb",
                "--pgdata",
                str(self.data_dir),
                "--username",
                _SERVER_USER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C.UTF-8",
                "--no-sync",
            )
            self._initialized = True
            self._start_on_a_free_port()
            self._create(self.database)
        else:
            self._pg_ctl_start()
        return self

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back and clients disconnected."""
        if not self._running:
            return
        self._run("pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", "fast", "--wait")
        self._running = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its data directory."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
            atexit.unregister(self.close)
            if self._watchdog is not None:
                self._watchdog.kill()
                self._watchdog.wait()
                self._watchdog = None

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database (named `name`, else `test_<n>`); returns its URL."""
        database = _checked_name(name or f"test_{next(self._names)}")
        self._create(database)
        return self.url_for(database)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _watch_this_process(self) -> None:
        # pg_ctl puts the server in a session of its own, so it outlives a test run that is
        # killed (a timeout, a cancelled CI job) before close() runs. The watchdog, in its
        # own session too, stops the server and deletes its data once this process is gone.
        stop = shlex.join(
            [
                *self._as_server_user(),
                str(self.bin_dir / "pg_ctl"),
                "stop",
                "--pgdata",
                str(self.data_dir),
                "--mode",
                "immediate",
            ]
        )
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
            f"if [ -f {shlex.quote(str(self.data_dir / 'postmaster.pid'))} ]; then {stop}; fi; "
            f"rm -rf {shlex.quote(str(self._root))}"
        )
        self._watchdog = subprocess.Popen(
            ["sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _as_server_user(self) -> list[str]:
        return [] if self._user is None else ["runuser", "-u", self._user.pw_name, "--"]

    def _start_on_a_free_port(self) -> None:
        # Another process may take the free port before the server binds it: try again.
        for attempt in range(3):
            self.port = free_port()
            try:
                self._pg_ctl_start()
                return
            except PostgresUnavailable:
                if attempt == 2:
                    raise

    def _pg_ctl_start(self) -> None:
        options = " ".join(
            [
                f"-c port={self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.socket_dir}",
                "-c shared_buffers=16MB",
                "-c max_connections=100",
                # Test data need not survive a crash of the machine.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        self._run(
            "pg_ctl",
            "start",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_file),
            "--options",
            options,
            "--wait",
            "--timeout",
            "30",
        )
        self._running = True

    def _create(self, database: str) -> None:
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=_SERVER_USER,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        ) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_server_user(), str(self.bin_dir / program), *args]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=60, cwd=self._root, check=False
        )
        if result.returncode != 0:
            log = self.log_file.read_text()[-2000:] if self.log_file.is_file() else ""
            raise PostgresUnavailable(
                f"{program} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
                + (f"\nserver log:\n{log}" if log else "")
            )

    @staticmethod
    def _server_user() -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(_SERVER_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"the tests run as root, which Postgres refuses, and there is no "
                f"{_SERVER_USER!r} user to run it as: {_INSTALL_HINT}, which creates it"
            ) from None


def _checked_name(name: str) -> str:
    if not _DATABASE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r} is not a lowercase SQL identifier")
    return name


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One Postgres server for the whole test session. Fails (never skips) when Postgres is
    not installed: the Postgres half of the store suite must run."""
    try:
        server = PostgresServer()
    except PostgresUnavailable as error:
        pytest.fail(f"cannot run the Postgres tests: {error}", pytrace=False)
    try:
        server.start()
    except PostgresUnavailable as error:
        server.close()
        pytest.fail(f"cannot run the Postgres tests: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database for this test."""
    if not postgres_server.running:  # a test that stopped the server and failed
        postgres_server.start()
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test runs twice: on a fresh SQLite file and on a fresh Postgres database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'recap.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
