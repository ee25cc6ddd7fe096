"""The reliability suite: hostile input, the access matrix, files and logs, and faults under load.

The fast part (hostile input, access matrix, files and logs) runs in ``make test`` on the session's
shared test network (the integration suite's, :func:`netsupport.session_network`). Tests marked
``faults`` (kill -9 and restart of one node at a time under load, on the shared network and on the
``raft3`` and ``bft4`` variants) run only in ``make reliability``, which also records the suite's
figures (``FABRX_RELIABILITY_FIGURES``, see :mod:`bench.reliability`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from netsupport import organization_gateways, session_network
from relsupport import Figures

import fabrx
from fabrx_network import ConsortiumNetwork

FIGURES_VARIABLE = "FABRX_RELIABILITY_FIGURES"


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsortiumNetwork]:
    """The session's test consortium, shared with the integration suite."""
    with session_network(tmp_path_factory) as net:
        yield net


@pytest.fixture(scope="session")
def gateway_for(network: ConsortiumNetwork) -> Iterator[Callable[[str], fabrx.Gateway]]:
    """``gateway_for("HospitalA")``: a Gateway as that organization's SDK client, on its own peer."""
    with organization_gateways(network) as connect:
        yield connect


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    """The suite's counters; written as JSON to ``$FABRX_RELIABILITY_FIGURES`` at the end, when set."""
    counted = Figures()
    yield counted
    target = os.environ.get(FIGURES_VARIABLE)
    if target:
        Path(target).write_text(json.dumps(counted.to_dict(), indent=2, sort_keys=True) + "\n")
