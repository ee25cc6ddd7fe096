"""The network tooling serves any chaincode: it imports nothing of the pharma application."""

from __future__ import annotations

import subprocess
import sys


def test_the_network_tooling_imports_nothing_of_pharma() -> None:
    code = (
        "import sys, fabrx_network, fabrx_network.operations, fabrx_network.chaincodes; "
        "print(sorted(m for m in sys.modules if 'pharma' in m))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
