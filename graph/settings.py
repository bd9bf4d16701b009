"""One settings object for the whole service, read from `DISCOVERY_*` environment variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class Paths:
    """The layout of `$DISCOVERY_HOME`: every file the service keeps, named in one place."""

    home: Path

    @property
    def store(self) -> Path:
        """the embedded store's versions"""
        return self.home / "store"

    @property
    def models(self) -> Path:
        """the model registry (serving pointers per tier)"""
        return self.home / "models"

    @property
    def scratch_models(self) -> Path:
        """models trained for comparison only, never served"""
        return self.home / "scratch" / "models"

    @property
    def snapshots(self) -> Path:
        """feature snapshots per date, keyed by data, criteria and code"""
        return self.home / "cache" / "snapshots"

    @property
    def rejects(self) -> Path:
        """the default rejects report of an ingest"""
        return self.home / "rejects.csv"

    @property
    def uploads(self) -> Path:
        """one folder per upload received by the HTTP service"""
        return self.home / "uploads"

    @property
    def records(self) -> Path:
        """the default records database (keys, invitations, audit)"""
        return self.home / "records.db"

    def simulated(self, seed: int, companies: int) -> Path:
        """where a simulated world is written before it is ingested"""
        return self.home / "simulated" / f"seed-{seed}-{companies}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISCOVERY_", extra="ignore")

    #: everything the service keeps lives under this directory
    home: Path = Path(".discovery")
    #: `embedded` (in-process, the default) or `neo4j` (the graph of record)
    store: Literal["embedded", "neo4j"] = "embedded"
    neo4j_uri: str = Field(
        "bolt://127.0.0.1:7687", validation_alias=AliasChoices("NEO4J_URI", "DISCOVERY_NEO4J_URI")
    )
    neo4j_user: str = Field(
        "neo4j", validation_alias=AliasChoices("NEO4J_USER", "DISCOVERY_NEO4J_USER")
    )
    neo4j_password: SecretStr = Field(
        SecretStr(""),
        validation_alias=AliasChoices("NEO4J_PASSWORD", "DISCOVERY_NEO4J_PASSWORD"),
    )
    neo4j_database: str = Field(
        "neo4j", validation_alias=AliasChoices("NEO4J_DATABASE", "DISCOVERY_NEO4J_DATABASE")
    )
    #: rows per UNWIND batch when loading Neo4j
    neo4j_batch_size: int = 10_000
    #: how a load fills Neo4j: `auto` uses the offline importer for a large first load into an
    #: empty database of a server run by tools/neo4j here, `offline` insists, `online` never
    neo4j_import: Literal["auto", "offline", "online"] = Field(
        "auto", validation_alias=AliasChoices("NEO4J_IMPORT", "DISCOVERY_NEO4J_IMPORT")
    )
    #: the data directory of the tools/neo4j launcher running the server (it can stop it)
    neo4j_launcher_home: Path | None = Field(
        None,
        validation_alias=AliasChoices("NEO4J_LAUNCHER_HOME", "DISCOVERY_NEO4J_LAUNCHER_HOME"),
    )
    #: tables loaded at once by UNWIND transactions (each table's batches stay in order;
    #: tables that share nodes now and then deadlock, and the driver runs that batch again)
    neo4j_load_threads: int = Field(2, ge=1, le=16)
    #: the transactional store (keys, invitations, audit); None: SQLite at `home/records.db`
    database_url: str | None = None
    #: the engine that builds features: `pandas` (in this process, the default) or `dask`
    engine: Literal["pandas", "dask"] = "pandas"
    #: with `dask`, a running scheduler to use (e.g. tcp://host:8786); None: a local cluster
    dask_scheduler: str | None = None
    #: worker processes of the local cluster started when no scheduler is given
    dask_workers: int = Field(2, ge=1, le=256)
    #: memory limit per worker of the local cluster (dask's notation, e.g. "4GB")
    dask_memory_limit: str = "4GB"

    @property
    def paths(self) -> Paths:
        return Paths(self.home)


def get_settings() -> Settings:
    """The settings in force now (read afresh, so a changed environment is honoured)."""
    return Settings()
