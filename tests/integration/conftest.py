"""The real network of the integration suite: the default consortium, brought up once per session.

Every integration test runs against real Fabric 3.1.5 processes (CAs, orderer, six peers, chaincode
servers) started by fabrx's own tooling, exactly as `fabrx network up` does; at the end the network is
taken down and the suite checks that nothing of it is left running. The reliability suite
(tests/reliability) shares the same network in the same session (:func:`netsupport.session_network`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from netsupport import organization_gateways, session_network

import fabrx
from fabrx_network import ConsortiumNetwork


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsortiumNetwork]:
    """The running test consortium. Brought up once; stopped (and checked stopped) at session end."""
    with session_network(tmp_path_factory) as net:
        yield net


@pytest.fixture(scope="session")
def gateway_for(network: ConsortiumNetwork) -> Iterator[Callable[[str], fabrx.Gateway]]:
    """``gateway_for("HospitalA")``: a Gateway as that organization's SDK client, on its own peer."""
    with organization_gateways(network) as connect:
        yield connect
