"""Opening the store: engine, SQLite durability settings, schema migrations on open.

SQLite (the default, a file in the home) runs in WAL mode with ``synchronous=FULL``, so a commit is
on disk when it returns, and with foreign keys enforced. PostgreSQL is used through any SQLAlchemy
URL (``postgresql+psycopg://...``). Alembic brings the schema to the current revision when a store
is opened; concurrent openers serialise on a lock (a file lock for SQLite, an advisory lock for
PostgreSQL) so that two processes never migrate at once.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError

from pki.errors import StoreError

# The newest migration in pki/store/migrations/versions (a test keeps the two in step).
SCHEMA_REVISION = "0003"
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x706E635F706B69  # "pnc_pki": the advisory lock key of migrations


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")  # first: the statements below may have to wait
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _postgres_durability(dbapi_connection: Any, _record: Any) -> None:
    # a commit returns only once the WAL is flushed, whatever the server's default says
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit TO on")
    cursor.close()
    dbapi_connection.commit()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the store's connection settings."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {url!r}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                directory = Path(database).parent
                if not directory.is_dir():
                    raise StoreError(f"{database}: directory {directory} does not exist")
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        engine = create_engine(parsed, pool_pre_ping=True)
        if parsed.get_backend_name() == "postgresql":
            event.listen(engine, "connect", _postgres_durability)
        return engine
    except NoSuchModuleError:
        raise StoreError(f"unsupported database URL scheme {parsed.drivername!r}") from None
    except ImportError as exc:
        raise StoreError(
            f"database driver for {parsed.drivername!r} is not installed ({exc.name}); "
            "for PostgreSQL install the 'postgres' extra"
        ) from None


def _current_revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    except (OperationalError, ProgrammingError):
        conn.rollback()
        return None


@contextlib.contextmanager
def _sqlite_open_lock(engine: Engine) -> Iterator[None]:
    """Processes opening one SQLite file take turns until it is migrated: the first connection of
    a new file turns it to WAL, which needs the file to itself (another opener gets "database is
    locked" instead of waiting)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def _migration_lock(engine: Engine, conn: Connection) -> Iterator[None]:
    # SQLite: migrate() already holds _sqlite_open_lock
    if engine.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
    else:
        yield


def migrate(engine: Engine) -> None:
    """Bring the schema to :data:`SCHEMA_REVISION` (a no-op query when it is already there)."""
    try:
        with _sqlite_open_lock(engine), engine.connect() as conn:
            if _current_revision(conn) == SCHEMA_REVISION:
                return
            conn.rollback()
            with _migration_lock(engine, conn):
                if _current_revision(conn) == SCHEMA_REVISION:
                    return
                conn.rollback()
                from alembic import command
                from alembic.config import Config

                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                conn.commit()
    except OperationalError as exc:
        raise StoreError(f"cannot open the store at {engine.url!r}: {error_summary(exc)}") from None


def error_summary(exc: BaseException) -> str:
    message = str(getattr(exc, "orig", None) or exc)
    return message.strip().splitlines()[0] if message.strip() else type(exc).__name__
