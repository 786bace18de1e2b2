"""Database URLs: ``${VAR}`` filled from the environment, the password masked in every
message, engines that fail fast, and database errors turned into errors a user can act on.

A password or token never appears in a message, a log line or a file: every message names
the database by ``DbUrl.shown`` (from ``mask_url``), and text that comes from a driver is
passed through ``DbUrl.scrub`` before it is shown.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from synthgen.errors import DataError, MissingExtraError, UsageError

MASK = "***"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# query parameters that carry a secret (libpq's and common token names)
SECRET_PARAMS = {"password", "sslpassword", "token", "access_token", "secret", "api_key", "apikey"}
_PG_DRIVERS = {"postgresql", "postgres", "postgresql+psycopg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
DEFAULT_CONNECT_TIMEOUT = 10  # seconds; an unreachable host fails after this, not minutes


@dataclass(frozen=True)
class DbUrl:
    url: URL  # expanded: holds the real password; never print it
    shown: str  # masked, for every message
    secrets: tuple[str, ...]  # literal secrets to scrub from driver messages

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        db = self.url.database
        return None if not self.is_sqlite or not db or db == ":memory:" else Path(db)

    def at(self, schema: str | None) -> str:
        """The masked URL, with the schema when there is one: how messages name a target."""
        return self.shown + (f" (schema {schema})" if schema else "")

    def scrub(self, text: str) -> str:
        for s in self.secrets:
            if s:
                text = text.replace(s, MASK)
        return text


def mask_url(url: str | URL) -> str:
    """The URL as it may be shown: password and secret query parameters replaced by ***.
    Works on text that does not parse as a URL too."""
    if isinstance(url, URL):
        shown = url.render_as_string(hide_password=True)
    else:
        shown = re.sub(r"(://[^:/@?#]*:)([^@]*)(@)", rf"\g<1>{MASK}\g<3>", str(url))
    keys = "|".join(sorted(SECRET_PARAMS))
    return re.sub(rf"([?&](?:{keys})=)[^&#]*", rf"\g<1>{MASK}", shown, flags=re.IGNORECASE)


def _expand(text: str, where: str) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise UsageError(
                f"the database URL {where} refers to ${{{name}}}, but the environment "
                f"variable {name} is not set",
                hint=f"export {name}=... before running (keep secrets out of files and commands)",
            )
        return os.environ[name]

    return _VAR.sub(value, text)


def _parse(text: str) -> URL:
    try:
        return make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        # shown no further than its scheme: the rest may hold a password we cannot find
        scheme = text.split("://", 1)[0] if "://" in text else ""
        raise UsageError(
            "not a database URL"
            + (f" ({scheme}://..., the rest not shown)" if scheme.isidentifier() else ""),
            hint="write e.g. sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/db",
        ) from None


def parse_url(text: str | URL) -> DbUrl:
    """Expand ``${VAR}`` references, check the dialect and driver, and remember what to mask."""
    if isinstance(text, URL):
        text = text.render_as_string(hide_password=False)
    text = str(text).strip()
    where = mask_url(text)
    raw: URL | None = None
    if "${" not in text.split("://", 1)[0] and not re.search(r":\$\{[^}]*\}(?:/|$)", text):
        try:  # expand inside each part, so a password may hold @ / : without quoting
            raw = make_url(text)
        except (sa.exc.ArgumentError, ValueError):
            raw = None
    if raw is not None:
        url = raw.set(
            username=_expand(raw.username, where) if raw.username else raw.username,
            password=_expand(raw.password, where) if raw.password else raw.password,
            host=_expand(raw.host, where) if raw.host else raw.host,
            database=_expand(raw.database, where) if raw.database else raw.database,
            query={k: _expand(v, where) if isinstance(v, str) else v for k, v in raw.query.items()},
        )
    else:  # a variable holds the whole URL, the scheme or the port
        url = _parse(_expand(text, where))
    url = _check_driver(url)
    secrets = [str(url.password)] if url.password else []
    secrets += [str(v) for k, v in url.query.items() if k.lower() in SECRET_PARAMS]
    if url.get_backend_name() == "postgresql" and os.environ.get("PGPASSWORD"):
        secrets.append(os.environ["PGPASSWORD"])  # libpq reads it when the URL has none
    return DbUrl(url=url, shown=mask_url(url), secrets=tuple(s for s in secrets if s))


def _check_driver(url: URL) -> URL:
    name = url.drivername
    if name in _SQLITE_DRIVERS:
        return url.set(drivername="sqlite")
    if name in _PG_DRIVERS:
        if importlib.util.find_spec("psycopg") is None:
            raise MissingExtraError("PostgreSQL URLs", "postgres", "psycopg[binary]")
        return url.set(drivername="postgresql+psycopg")
    if name.startswith(("postgresql+", "postgres+")):
        raise UsageError(
            f"database URL {mask_url(url)}: synthgen talks to PostgreSQL through psycopg 3 only",
            hint="write postgresql+psycopg://user@host:5432/db (or just postgresql://...)",
        )
    raise UsageError(
        f"database URL {mask_url(url)}: the {url.get_backend_name()!r} database is not supported",
        hint="use sqlite:///file.db or postgresql+psycopg://user@host:5432/db",
    )


def make_engine(db: DbUrl, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> sa.Engine:
    """An engine without a pool (one run, one connection). SQLite gets real transactions
    (DDL included: pysqlite would commit before CREATE TABLE) and enforced foreign keys;
    PostgreSQL gets a connect timeout. Statement parameters never appear in errors."""
    if db.is_sqlite:
        engine = sa.create_engine(db.url, poolclass=NullPool, hide_parameters=True)

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we say BEGIN ourselves, below
            dbapi_conn.execute("PRAGMA foreign_keys = ON")

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    args: dict[str, Any] = {}
    if "connect_timeout" not in db.url.query:
        args["connect_timeout"] = max(1, int(connect_timeout))
    return sa.create_engine(db.url, poolclass=NullPool, hide_parameters=True, connect_args=args)


def driver_message(db: DbUrl, err: BaseException) -> str:
    """The driver's own words (first lines, no SQL, no parameters), secrets masked."""
    orig = getattr(err, "orig", None) or err
    lines = [ln.strip() for ln in str(orig).strip().splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith(("[SQL:", "[parameters:", "(Background"))]
    return db.scrub("; ".join(keep[:3]) or type(orig).__name__)


def connect_error(db: DbUrl, err: BaseException) -> DataError:
    msg = driver_message(db, err)
    low = msg.lower()
    host = f"{db.url.host or 'localhost'}:{db.url.port or 5432}"
    if db.is_sqlite:
        return DataError(
            f"cannot open the SQLite database {db.shown}: {msg}",
            hint="check the path and that you may read (and write) the file and its folder",
        )
    if "password authentication failed" in low or "no password supplied" in low:
        return DataError(
            f"cannot log in to {db.shown}: the server refused the password for user "
            f"{db.url.username or os.environ.get('PGUSER', '(default)')!r}",
            hint="check the password: write ${VAR} in the URL and export VAR, or set PGPASSWORD",
        )
    if "does not exist" in low and "database" in low:
        return DataError(
            f"database {db.url.database!r} does not exist on {host} ({db.shown})",
            hint=f"create it (createdb {db.url.database}) or fix the database name in the URL",
        )
    if "role" in low and "does not exist" in low:
        return DataError(
            f"user {db.url.username!r} does not exist on {host} ({db.shown})",
            hint="fix the user name in the URL (user@host)",
        )
    return DataError(
        f"cannot reach the PostgreSQL server at {host} ({db.shown}): {msg}",
        hint="check the host and port and that the server runs and accepts TCP connections "
        "(for the tests: make pg)",
    )


@contextmanager
def connect(db: DbUrl, engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection, or a DataError that says why not (host, password, database)."""
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as err:
        raise connect_error(db, err) from None
    try:
        yield conn
    finally:
        conn.close()
