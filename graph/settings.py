"""One settings object for the whole service, read from `DISCOVERY_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    #: the transactional store (keys, invitations, audit); None: SQLite at `home/records.db`
    database_url: str | None = None


def get_settings() -> Settings:
    """The settings in force now (read afresh, so a changed environment is honoured)."""
    return Settings()
