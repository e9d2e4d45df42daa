"""The doctor's checks of what recap keeps on this machine: the recordings directory
(RECAP_SOURCE=files:DIR), the database and its schema, and free disk."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from recap.core.config import Settings
from recap.doctor.report import CheckResult, Status, result, why

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import URL

GIB: Final = 1024**3
DEFAULT_MIN_FREE_BYTES: Final = GIB


def check_recordings(settings: Settings) -> list[CheckResult]:
    """The RECAP_SOURCE=files:DIR directory exists and holds recordings the files source
    can open (the smallest is opened and read through)."""
    from recap.recording.models import RecordingError
    from recap.sources.files import SUFFIXES, DirectorySource
    from recap.sources.spec import SourceSpec

    root = SourceSpec.parse(settings.source).directory or Path()
    value = str(root.resolve())

    def recordings(status: Status, detail: str, fix: str | None = None) -> list[CheckResult]:
        return [result("recordings", "recordings", status, value, detail, fix)]

    fetch = "(`recap fetch SESSION_ID --out DIR/SESSION_ID.json` downloads one from PostHog)"
    if not root.is_dir():
        return recordings(
            "fail",
            "not a directory" if root.exists() else "the directory does not exist",
            f"create it and put recording files in it {fetch}, or point "
            "RECAP_SOURCE=files:DIR at the directory that holds them",
        )
    source = DirectorySource(root, settings.timeline.max_decoded_bytes)
    try:
        sessions = source.list_sessions()
    except (OSError, RecordingError) as error:
        return recordings(
            "fail",
            f"cannot list it ({why(error)})",
            "make the directory readable by the user recap runs as",
        )
    if not sessions:
        return recordings(
            "fail",
            f"no recording files ({', '.join(SUFFIXES)}) in it",
            f"put exported recordings there {fetch}, or point RECAP_SOURCE at the "
            "directory that holds them",
        )
    smallest = min(sessions, key=lambda session_id: source.path_of(session_id).stat().st_size)
    try:
        recording = source.load(smallest)
        events = sum(1 for _ in recording.events)
    except (OSError, RecordingError) as error:
        return recordings(
            "fail",
            f"{len(sessions)} found, but {source.path_of(smallest).name} cannot be read: {error}",
            "remove or replace the unreadable file (`recap timeline FILE` shows the problem)",
        )
    return recordings("pass", f"{len(sessions)} found; opened {smallest} ({events} events)")


def check_database(settings: Settings, timeout_seconds: float) -> list[CheckResult]:
    """The database answers and its schema is at the revision this recap expects
    (alembic's head); an empty or absent database is fine: recap creates it."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        url = make_url(settings.resolved_database_url)
    except ArgumentError:
        return [
            result(
                "database",
                "database",
                "fail",
                "RECAP_DATABASE_URL",
                "not a database URL",
                "set RECAP_DATABASE_URL to e.g. postgresql+psycopg://USER:PASSWORD@HOST/DB or "
                "sqlite:////path/recap.db",
            )
        ]
    value = url.render_as_string(hide_password=True)

    def database(status: Status, detail: str, fix: str | None = None) -> list[CheckResult]:
        return [result("database", "database", status, value, detail, fix)]

    scripts = _migration_scripts()
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database or "").expanduser()
        if not path.exists():
            # Connecting would create the file: say what recap will do instead.
            return database(
                "pass",
                "no database file yet: recap creates it, at the current schema, on first use",
            )
    try:
        current, tables = _read_schema(url, timeout_seconds)
    except (SQLAlchemyError, OSError, ImportError) as error:
        reason = getattr(error, "orig", None) or error
        return database(
            "fail",
            f"cannot connect ({why(reason)})",
            "check RECAP_DATABASE_URL (host, port, user, password, database name) and that "
            "the database server is running",
        )
    return database(*_schema_verdict(current, tables, scripts))


def _migration_scripts() -> ScriptDirectory:
    """recap's own alembic migrations, as installed."""
    from importlib.resources import files

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(files("recap.store").joinpath("migrations")))
    return ScriptDirectory.from_config(config)


def _read_schema(url: URL, timeout_seconds: float) -> tuple[str | None, list[str]]:
    """The database's alembic revision (None when it has none) and its tables, read over a
    connection that waits at most `timeout_seconds`."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.pool import NullPool

    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, round(timeout_seconds))
    elif url.get_backend_name() == "sqlite":
        connect_args["timeout"] = timeout_seconds
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            tables = inspect(connection).get_table_names()
    finally:
        engine.dispose()
    return current, tables


def _schema_verdict(
    current: str | None, tables: list[str], scripts: ScriptDirectory
) -> tuple[Status, str, str | None]:
    """Whether the schema the database is at will do: this recap's head, or nothing yet in
    an empty database. The status, what was found and the fix."""
    head = scripts.get_current_head()
    if current == head:
        return "pass", f"reachable, schema at {head}", None
    if current is None:
        if not tables:
            return "pass", "reachable and empty: recap creates its tables on first use", None
        return (
            "fail",
            f"reachable, but it holds tables ({', '.join(sorted(tables)[:3])}…) and no recap "
            "schema version",
            "point RECAP_DATABASE_URL at a database of recap's own",
        )
    known = {script.revision for script in scripts.walk_revisions()}
    if current in known:
        return (
            "fail",
            f"schema at {current}, this recap needs {head} (migrations are behind)",
            "start `recap worker` or `recap api` once: they upgrade the schema on first "
            "use (the database user must be allowed to create and alter tables)",
        )
    return (
        "fail",
        f"schema at {current}, a revision this recap does not know (its newest is {head})",
        "run the recap version that wrote this database, or point RECAP_DATABASE_URL at "
        "recap's own database",
    )


def check_disk(
    settings: Settings, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES
) -> list[CheckResult]:
    """Free space where recap keeps its database, model weights and dev server history."""
    directory = settings.data_dir.expanduser().resolve()
    measured = directory
    while not measured.exists() and measured != measured.parent:
        measured = measured.parent  # RECAP_DATA_DIR is created on first use
    free = shutil.disk_usage(measured).free
    value = f"{free / GIB:.1f} GiB free in {directory}"
    if free >= min_free_bytes:
        return [
            result("disk", "free disk", "pass", value, f"at least {min_free_bytes / GIB:g} GiB")
        ]
    return [
        result(
            "disk",
            "free disk",
            "fail",
            value,
            f"below {min_free_bytes / GIB:g} GiB: the database, the model weights (about "
            "250 MB) and Temporal's history may not fit",
            "free space on that disk, or set RECAP_DATA_DIR to a directory on a larger one",
        )
    ]
