from __future__ import annotations

from collections.abc import Iterator

import pytest

from fabrx.endpoint import Endpoint
from fabrx.gateway import Gateway, Reconnect, Timeouts, connect

from .fakes import ClientIdentity, FakeFabric, FakeServer, new_client_identity

FAST_RECONNECT = Reconnect(initial_delay=0.02, max_delay=0.2, give_up_after=3.0)
TIMEOUTS = Timeouts(evaluate=5, endorse=5, submit=5, commit_status=5)


@pytest.fixture(scope="session")
def client() -> ClientIdentity:
    return new_client_identity()


@pytest.fixture
def fabric() -> FakeFabric:
    return FakeFabric()


@pytest.fixture
def server(fabric: FakeFabric) -> Iterator[FakeServer]:
    with FakeServer(fabric) as running:
        yield running


@pytest.fixture
def gateway(server: FakeServer, client: ClientIdentity) -> Iterator[Gateway]:
    with connect(
        Endpoint(address=server.address),
        identity=client.identity,
        signer=client.signer,
        timeouts=TIMEOUTS,
        reconnect=FAST_RECONNECT,
    ) as connected:
        yield connected
