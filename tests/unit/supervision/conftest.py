"""Every supervision-store test runs on both backends: an SQLite file and a private PostgreSQL server
(initdb into a temporary directory, started once per session, a fresh database per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrx_pharma_supervision import SupervisionStore
from fabrx_pharma_supervision.testing import TemporaryPostgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[TemporaryPostgres]:
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server: TemporaryPostgres = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture
def store(store_url: str) -> Iterator[SupervisionStore]:
    with SupervisionStore.open(store_url) as opened:
        yield opened
