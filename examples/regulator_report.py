"""The regulator's supervision view: every finding on the ledger, and the diversion signals.

    .venv/bin/python examples/regulator_report.py            # after `make demo`
    .venv/bin/python examples/regulator_report.py --as-of 2025-06-30T00:00:00+08:00

Runs on the regulator's peer, which keeps a copy of every private record: violations that got onto
the ledger, goods never or late received, diversion (串货) and resale of dispensed packages (回流药).
"""

from __future__ import annotations

import argparse
from datetime import datetime

from fabrx.pharma import PharmaClients
from fabrx_network import open_network
from fabrx_pharma import render_findings


def main() -> None:
    parser = argparse.ArgumentParser(description="Print the regulator's compliance report.")
    parser.add_argument("--as-of", type=datetime.fromisoformat, help="ISO time with offset")
    args = parser.parse_args()
    with PharmaClients(open_network()) as clients:
        regulator = clients.regulator
        findings = regulator.compliance_report(as_of=args.as_of)
        signals = regulator.diversion_signals(as_of=args.as_of)
    print("Compliance report:")
    print(render_findings(findings))
    print("Diversion and resale signals:")
    print(render_findings(signals))


if __name__ == "__main__":
    main()
