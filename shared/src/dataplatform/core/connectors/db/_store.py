"""Connecting to the metadata store and migrating it."""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from dataplatform.core.errors import StoreUnavailableError, TerminalError, extra_required

_MIGRATIONS = Path(__file__).with_name("migrations")
# Several processes (collector, workers, CLI) share one SQLite file: wait for a lock, don't fail.
_SQLITE_BUSY_TIMEOUT_MS = 30_000


class Base(DeclarativeBase):
    """Declarative base of every table in the metadata store."""


class MetadataStore:
    """One database of platform metadata, at a SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        if self.url.get_backend_name() == "postgresql" and self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")
        self.engine = _create_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed at the end of the block, rolled back if the block raises."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            if "no such table" in str(exc) or "does not exist" in str(exc):
                raise TerminalError(
                    "The metadata store has no schema yet; run `dataplatform db upgrade`."
                ) from exc
            raise StoreUnavailableError(f"Metadata store at {self.safe_url} failed: {exc}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @property
    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to `revision`."""
        with self.engine.begin() as connection:
            command.upgrade(self._alembic_config(connection), revision)

    def downgrade(self, revision: str) -> None:
        """Revert migrations down to `revision` (`base` removes every table)."""
        with self.engine.begin() as connection:
            command.downgrade(self._alembic_config(connection), revision)

    def head_revision(self) -> str | None:
        """The newest migration this code ships."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        return ScriptDirectory.from_config(config).get_current_head()

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()

    def _alembic_config(self, connection: Any) -> Config:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = connection
        return config


def _create_engine(url: Any) -> Engine:
    if url.get_backend_name() != "sqlite":
        with extra_required("postgres", "A PostgreSQL metadata store (`database_url`)"):
            return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine
