"""Configuration from the environment (then .env), with the defaults of docs/configuration.md."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gtm.errors import GtmError

PROJECT_DIR = Path(__file__).resolve().parent.parent
WAREHOUSES = ("duckdb", "postgres")


def load_dotenv(path: Path) -> None:
    """Read KEY=VALUE lines of a git-ignored .env into the environment; the environment wins."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$", line)
        if not match or line.lstrip().startswith("#"):
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key, value)


@dataclass(frozen=True)
class Settings:
    warehouse: str
    duckdb_path: Path
    database_url: str | None
    as_of: date
    project_dir: Path

    @classmethod
    def from_env(cls, project_dir: Path = PROJECT_DIR) -> Settings:
        load_dotenv(Path.cwd() / ".env")
        warehouse = os.environ.get("GTM_WAREHOUSE", "duckdb").strip().lower() or "duckdb"
        if warehouse not in WAREHOUSES:
            raise GtmError(f"GTM_WAREHOUSE={warehouse!r} is not supported; use duckdb or postgres")
        database_url = os.environ.get("DATABASE_URL") or None
        if warehouse == "postgres":
            if not database_url:
                raise GtmError(
                    "DATABASE_URL is not set; GTM_WAREHOUSE=postgres needs "
                    "DATABASE_URL=postgresql://user:password@host:5432/dbname"
                )
            postgres_params(database_url)  # one line now rather than a traceback later
        duckdb_path = Path(os.environ.get("GTM_DUCKDB_PATH", "data/gtm.duckdb")).expanduser().absolute()
        return cls(
            warehouse=warehouse,
            duckdb_path=duckdb_path,
            database_url=database_url,
            as_of=parse_as_of(os.environ.get("GTM_AS_OF")),
            project_dir=project_dir,
        )

    @property
    def pipelines_dir(self) -> Path:
        """Where dlt keeps pipeline state and pending loads: one folder per warehouse, so the incremental
        cursors of one warehouse never leak into another."""
        override = os.environ.get("GTM_PIPELINES_DIR")
        if override:
            return Path(override).absolute()
        if self.warehouse == "duckdb":
            return self.duckdb_path.parent / f".{self.duckdb_path.name}.pipelines"
        parts = urlsplit(self.database_url or "")
        identity = f"{parts.hostname}:{parts.port or 5432}{parts.path}"
        return (
            Path("data").absolute()
            / "pipelines"
            / f"postgres-{hashlib.sha1(identity.encode()).hexdigest()[:10]}"
        )

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt subprocess: the warehouse settings and no telemetry."""
        env = dict(os.environ)
        env.update(
            GTM_WAREHOUSE=self.warehouse,
            GTM_DUCKDB_PATH=str(self.duckdb_path),
            DO_NOT_TRACK="1",
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
            # decoded once here, so dbt logs in with exactly the password psycopg2 and dlt use
            for key, value in postgres_params(self.database_url).items():
                env[f"GTM_PG_{key.upper()}"] = str(value)
            # a reader's lock makes a build fail after this long instead of waiting without end
            lock_timeout = os.environ.get("GTM_LOCK_TIMEOUT", "60s")
            options = re.sub(r"-c\s*lock_timeout=\S+", "", env.get("PGOPTIONS", "")).split()
            env["PGOPTIONS"] = " ".join([*options, "-c", f"lock_timeout={lock_timeout}"])
        return env

    @property
    def postgres(self) -> dict[str, str | int]:
        """DATABASE_URL split and percent-decoded: host, port, user, password, dbname."""
        return postgres_params(self.database_url or "")


def postgres_params(url: str) -> dict[str, str | int]:
    """A postgresql:// URL as connection parameters, each percent-decoded exactly once."""
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError as exc:
        raise GtmError(
            f"DATABASE_URL is not a valid URL ({exc}); use postgresql://user:password@host:5432/db"
        ) from None
    if parts.scheme not in ("postgres", "postgresql"):
        raise GtmError("DATABASE_URL must start with postgresql:// (got another scheme)")
    return {
        "host": unquote(parts.hostname or "127.0.0.1"),
        "port": port,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "dbname": unquote(parts.path.lstrip("/") or "postgres"),
    }


def parse_as_of(value: str | None) -> date:
    """GTM_AS_OF / --as-of as a date; today in UTC when empty."""
    if not value:
        return datetime.now(timezone.utc).date()
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise GtmError(f"as-of date {value!r} is not a date like 2026-01-31") from None
