"""Engines and the one session helper: commit on success, roll back on error, always close."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from app.schema import upgrade_database
from optim.engines import create_engine, is_sqlite


class DatabaseUnavailableError(RuntimeError):
    """The database cannot be read or written (locked for too long, read-only, disk full)."""


@dataclass
class Database:
    """The app's two engines on one database: writes begin IMMEDIATE, reads never wait."""

    url: str
    write_engine: Engine
    read_engine: Engine

    @classmethod
    def open(cls, url: str, *, create: bool = True, **pool: Any) -> Database:
        """Both engines on `url` (`pool`: SQLAlchemy's pool_size, max_overflow, pool_timeout),
        with adamtune's tables migrated to this release (`create`)."""
        if is_sqlite(url):
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_engine = create_engine(url, immediate=True, **pool)
        if is_sqlite(url):
            read_engine = create_engine(url, immediate=False, **pool)
        else:
            # one snapshot per read transaction, as SQLite's WAL readers have: under READ
            # COMMITTED each statement sees newer commits, so a cursor read (the points, then the
            # newest event id) would skip an event committed between the two statements
            read_engine = write_engine.execution_options(isolation_level="REPEATABLE READ")
        db = cls(url=url, write_engine=write_engine, read_engine=read_engine)
        if create:
            upgrade_database(write_engine)
        return db

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back if it raises."""
        maker = sessionmaker(bind=self.write_engine if write else self.read_engine)
        session = maker(expire_on_commit=False)
        try:
            yield session
            if write:
                session.commit()
        except exc.OperationalError as err:
            session.rollback()
            raise DatabaseUnavailableError(str(err.orig)) from err
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core write transaction that commits when the block ends: for the hot one-statement
        writes (a worker's epoch event), without the ORM's unit of work."""
        try:
            with self.write_engine.begin() as conn:
                yield conn
        except exc.OperationalError as err:
            raise DatabaseUnavailableError(str(err.orig)) from err

    def dispose(self) -> None:
        self.write_engine.dispose()
        self.read_engine.dispose()
