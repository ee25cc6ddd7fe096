"""A hospital verifies its suppliers' invoices in one call (统一医院端验票).

    .venv/bin/python examples/load_sample.py     # once: the sample story the data files refer to
    .venv/bin/python examples/hospital_verify.py 24352000000000002001 \
        --first-invoice-copy examples/data/first_invoice_copy.json

For each invoice addressed to the hospital: is it genuine, do invoice, shipment and receipt agree
(票货同行), and is the copy of the first invoice the distributor handed over the one on the ledger
(checked by hash: the hospital never reads the manufacturer–distributor trade). Try
``examples/data/first_invoice_copy_tampered.json`` (a lower purchase price) to see it caught.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fabrx.pharma import PharmaClients
from fabrx_network import open_network
from fabrx_pharma import Invoice


def main() -> None:
    parser = argparse.ArgumentParser(description="Verify invoices as a hospital.")
    parser.add_argument("numbers", nargs="+", help="invoice numbers addressed to the hospital")
    parser.add_argument("--org", default="HospitalA", help="the hospital organization")
    parser.add_argument("--first-invoice-copy", type=Path, action="append", default=[], dest="copies")
    args = parser.parse_args()
    copies = [Invoice.from_json(path.read_bytes()) for path in args.copies]
    with PharmaClients(open_network()) as clients:
        hospital = clients.hospital(args.org)
        results = hospital.verify_invoices({number: copies for number in args.numbers})
    for result in results:
        print(
            f"invoice {result.number} from {result.seller}:",
            "VERIFIED" if result.verified else "NOT VERIFIED",
        )
        print(f"  genuine {result.genuine}, goods received as invoiced {result.receipt_matches}")
        for copy in result.first_invoices:
            print(
                f"  first-invoice copy {copy.number}:",
                "genuine" if copy.genuine else "NOT the invoice on the ledger",
            )
        for problem in result.discrepancies:
            print(f"  {problem.code} {problem.field}: {problem.message}")


if __name__ == "__main__":
    main()
