"""The connection to the transactional store: SQLite under `$DISCOVERY_HOME` or PostgreSQL by URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from discovery.records.schema import Base
from graph.errors import StoreUnavailableError
from graph.settings import Settings, get_settings


def database_url(settings: Settings) -> str:
    """`DISCOVERY_DATABASE_URL` when set, else the SQLite file `records.db` in the state directory."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{settings.paths.records.resolve()}"


class Records:
    """An engine and a session factory; the schema is created on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            # sessions move between the server's worker threads; SQLite waits on a busy lock
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            Base.metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            fix = (
                "check that the state directory (DISCOVERY_HOME) can be written"
                if url.startswith("sqlite")
                else "check DISCOVERY_DATABASE_URL"
            )
            raise StoreUnavailableError(
                f"The records database at {self.engine.url.render_as_string(hide_password=True)} "
                f"cannot be opened ({type(exc).__name__}); {fix}."
            ) from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Records:
        settings = settings or get_settings()
        if not settings.database_url:
            settings.home.mkdir(parents=True, exist_ok=True)
        return cls(database_url(settings))

    def session(self) -> Session:
        return self._sessions()

    def ping(self) -> None:
        """Raise when the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # write-ahead logging lets readers go on while one writer commits
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_records(settings: Settings | None = None) -> Records:
    """The transactional store the settings name."""
    return Records.from_settings(settings)
