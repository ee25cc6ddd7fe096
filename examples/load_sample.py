"""Write the fixed sample story of ``fabrx_pharma.sample`` to the running default network, once.

    .venv/bin/python examples/load_sample.py

The other examples' data files (``examples/data/``) refer to its records: invoices
24352000000000001001 (first, Manufacturer → DistributorA) and 24352000000000002001 (second,
DistributorA → HospitalA), batch AMOX-0.25G-24/A240301, prescription RX-A-0002 with adverse event
ADR-A-0001. Records already on the ledger are skipped, so it can run any number of times.
"""

from __future__ import annotations

from fabrx.pharma import (
    Distributor,
    Hospital,
    Manufacturer,
    PharmaClient,
    PharmaClients,
    RecordNotFound,
    Regulator,
)
from fabrx_network import open_network
from fabrx_pharma import (
    AdverseEvent,
    AnyRecord,
    Batch,
    Invoice,
    Party,
    Prescription,
    Product,
    Receipt,
)
from fabrx_pharma.sample import build_sample_scenario


def _anchor_key(record: AnyRecord) -> tuple[str, ...]:
    if isinstance(record, Batch):
        return ("batch", record.product_id, record.batch_number)
    if isinstance(record, Receipt):
        return ("receipt", str(record.invoice_number))
    return (record.RECORD_TYPE, record.key)


def _write(client: PharmaClient, record: AnyRecord) -> None:
    if isinstance(record, Party) and isinstance(client, Regulator):
        client.register_party(record)
    elif isinstance(record, Product) and isinstance(client, Manufacturer):
        client.register_product(record)
    elif isinstance(record, Batch) and isinstance(client, Manufacturer):
        client.record_batch(record)
    elif isinstance(record, Invoice) and isinstance(client, Manufacturer | Distributor):
        client.issue_invoice(record)
    elif isinstance(record, Receipt) and isinstance(client, Distributor | Hospital):
        client.record_receipt(record)
    elif isinstance(record, Prescription) and isinstance(client, Hospital):
        client.record_prescription(record)
    elif isinstance(record, AdverseEvent) and isinstance(client, Hospital):
        client.report_adverse_event(record)


def main() -> None:
    sample = build_sample_scenario()
    with PharmaClients(open_network()) as clients:
        regulator = clients.regulator
        if not regulator.is_bootstrapped():
            regulator.bootstrap(sample.regulator)
        roles = {p.party_id: p.role.value for p in sample.records(Party) if isinstance(p, Party)}
        facades: dict[str, type[PharmaClient]] = {
            "regulator": Regulator,
            "manufacturer": Manufacturer,
            "distributor": Distributor,
            "hospital": Hospital,
        }
        for submitter, record in sample.writes:
            try:
                regulator.read_anchor(*_anchor_key(record))
                print(f"on the ledger: {record.RECORD_TYPE} {record.key}")
                continue
            except RecordNotFound:
                pass
            role = "regulator" if submitter == regulator.party_id else roles[submitter]
            _write(clients.facade(facades[role], submitter), record)
            print(f"written:       {record.RECORD_TYPE} {record.key}")


if __name__ == "__main__":
    main()
