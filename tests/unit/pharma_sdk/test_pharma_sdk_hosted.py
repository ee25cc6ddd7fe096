"""Hosted parties and the buyer's copy of an invoice, through the facades and the real PharmaContract on
an in-memory ledger whose transactions run on a peer of one organization (see ``pharma_sdk_fakes``)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest
from pharma_sdk_fakes import ROLES, LedgerContract, PeerLedger, memory_ledger

from fabrx.pharma import (
    AccessRefused,
    Distributor,
    Hospital,
    Manufacturer,
    PharmaClient,
    PharmaError,
    Regulator,
)
from fabrx_pharma import (
    AnyRecord,
    Batch,
    Invoice,
    InvoiceNumber,
    Party,
    Prescription,
    Product,
    Receipt,
    Role,
    canonical_json,
)
from fabrx_pharma.privacy import implicit_collection
from fabrx_pharma.sample import build_sample_scenario, sample_invoice_number, sample_uscc
from fabrx_pharma_chaincode import composite_key

SAMPLE = build_sample_scenario()
SECOND_A = next(r for _, r in SAMPLE.writes if isinstance(r, Invoice) and r.seller == "DistributorAMSP")
HOST = "CityHostMSP"
CLINIC = "CLINIC-0001"
REG_CLINIC = "REG-CLINIC-01"


def _party(party_id: str, role: Role, host: str, code: str) -> Party:
    return Party(party_id, role, f"{party_id} name", sample_uscc("12", "350100", code), host_msp_id=host)


def _facade(ledger: PeerLedger, party_id: str, host: str | None = None) -> PharmaClient:
    cls = {"regulator": Regulator, "manufacturer": Manufacturer, "distributor": Distributor}.get(
        ROLES[party_id], Hospital
    )
    host = host or party_id
    return cls(LedgerContract(ledger, host, party_id), party_id, msp_id=host)


def _write(client: PharmaClient, record: AnyRecord) -> None:
    if isinstance(client, Regulator) and isinstance(record, Party):
        client.register_party(record)
    elif isinstance(client, Manufacturer) and isinstance(record, Product):
        client.register_product(record)
    elif isinstance(client, Manufacturer) and isinstance(record, Batch):
        client.record_batch(record)
    elif isinstance(client, Manufacturer | Distributor) and isinstance(record, Invoice):
        client.issue_invoice(record)
    elif isinstance(client, Distributor | Hospital) and isinstance(record, Receipt):
        client.record_receipt(record)
    elif isinstance(client, Hospital) and isinstance(record, Prescription):
        client.record_prescription(record)


@pytest.fixture(scope="module", params=["peer known", "peer probed"])
def ledger(request: pytest.FixtureRequest) -> PeerLedger:
    """The sample story, written through the facades, plus a hosting member and two hosted clinics; the
    chaincode told its peer's organization, or finding it out."""
    ledger = memory_ledger(peer_known=request.param == "peer known")
    regulator = _facade(ledger, "RegulatorMSP")
    assert isinstance(regulator, Regulator)
    regulator.bootstrap(SAMPLE.regulator)
    for submitter, record in SAMPLE.writes:
        _write(_facade(ledger, submitter), record)
    regulator.register_party(_party(HOST, Role.HOST, HOST, "70000001"))
    regulator.register_party(_party(CLINIC, Role.HOSPITAL, HOST, "70000002"))
    regulator.register_party(_party(REG_CLINIC, Role.HOSPITAL, "RegulatorMSP", "70000003"))
    return ledger


def _sale_to(buyer: str, sequence: int) -> tuple[Invoice, Receipt]:
    """A second invoice of DistributorA to ``buyer`` (2 packages of what it sold HospitalA), its receipt."""
    line = dataclasses.replace(SECOND_A.lines[0], quantity=2)
    line = dataclasses.replace(line, amount=(line.unit_price * 2).quantize(Decimal("0.01")))
    goods = dataclasses.replace(SECOND_A.shipment.lines[0], quantity=2, trace_codes=())
    number = sample_invoice_number(SECOND_A.issue_date, 9000 + sequence)
    invoice = dataclasses.replace(
        SECOND_A,
        number=InvoiceNumber.parse(number),
        buyer=buyer,
        lines=(line,),
        total=line.amount,
        shipment=dataclasses.replace(SECOND_A.shipment, shipment_id=f"SHP-{number[-8:]}", lines=(goods,)),
    )
    receipt = Receipt(
        receipt_id=f"RCV-{number[-8:]}",
        invoice_number=invoice.number,
        receiver=buyer,
        received_at=invoice.shipment.shipped_at + timedelta(hours=2),
        lines=invoice.shipment.lines,
    )
    return invoice, receipt


def test_a_hosted_clinic_gets_its_copy_of_an_invoice_with_the_receipt(ledger: PeerLedger) -> None:
    invoice, receipt = _sale_to(CLINIC, 1)
    distributor = _facade(ledger, "DistributorAMSP")
    assert isinstance(distributor, Distributor)
    distributor.issue_invoice(invoice)
    contract = LedgerContract(ledger, HOST, CLINIC)
    clinic = Hospital(contract, CLINIC, msp_id=HOST)
    key = composite_key("invoice", str(invoice.number))
    assert key not in ledger.private_data("pharma", implicit_collection(HOST))

    anchor = clinic.record_receipt(receipt)

    # The host's peer kept no copy of the invoice: it was read on the regulator's, then sent along.
    assert contract.peers == [
        ("read_invoice", HOST),
        ("read_invoice", "RegulatorMSP"),
        ("record_receipt", "RegulatorMSP"),
        ("record_receipt", HOST),
    ]
    assert anchor.submitter == CLINIC and set(anchor.parties) == {CLINIC, "DistributorAMSP"}
    assert anchor.collections == (implicit_collection(HOST), implicit_collection("RegulatorMSP"))
    assert ledger.private_data("pharma", implicit_collection(HOST))[key] == canonical_json(invoice)
    assert clinic.read_invoice(str(invoice.number)) == invoice
    assert clinic.verify_invoice(str(invoice.number)).receipt_matches


def test_after_its_receipt_the_hosts_own_peer_answers_the_clinic(ledger: PeerLedger) -> None:
    invoice, receipt = _sale_to(CLINIC, 5)
    distributor = _facade(ledger, "DistributorAMSP")
    assert isinstance(distributor, Distributor)
    distributor.issue_invoice(invoice)
    contract = LedgerContract(ledger, HOST, CLINIC)
    clinic = Hospital(contract, CLINIC, msp_id=HOST)
    clinic.record_receipt(receipt)
    contract.peers.clear()
    assert clinic.read_invoice(str(invoice.number)) == invoice
    assert clinic.verify_invoice(str(invoice.number)).receipt_matches
    assert contract.peers == [("read_invoice", HOST), ("verify_invoices", HOST)]


def test_resending_an_identical_receipt_returns_its_anchor(ledger: PeerLedger) -> None:
    invoice, receipt = _sale_to(CLINIC, 2)
    distributor = _facade(ledger, "DistributorAMSP")
    assert isinstance(distributor, Distributor)
    distributor.issue_invoice(invoice)
    clinic = Hospital(LedgerContract(ledger, HOST, CLINIC), CLINIC, msp_id=HOST)
    first = clinic.record_receipt(receipt)
    again = clinic.record_receipt(receipt)
    assert again.transaction_id == first.transaction_id and again.hash == first.hash


def test_a_party_hosted_by_the_regulators_organization_is_endorsed_and_answered_there(
    ledger: PeerLedger,
) -> None:
    invoice, receipt = _sale_to(REG_CLINIC, 3)
    distributor = _facade(ledger, "DistributorAMSP")
    assert isinstance(distributor, Distributor)
    distributor.issue_invoice(invoice)
    contract = LedgerContract(ledger, "RegulatorMSP", REG_CLINIC)
    clinic = Hospital(contract, REG_CLINIC, msp_id="RegulatorMSP")
    assert clinic.endorsing_organizations == ["RegulatorMSP"]
    anchor = clinic.record_receipt(receipt)
    assert contract.peers == [("read_invoice", "RegulatorMSP"), ("record_receipt", "RegulatorMSP")]
    assert anchor.collections == (implicit_collection("RegulatorMSP"),)


def test_a_party_that_is_no_party_to_an_invoice_reads_it_nowhere(ledger: PeerLedger) -> None:
    contract = LedgerContract(ledger, HOST, CLINIC)
    with pytest.raises(AccessRefused) as refused:
        Hospital(contract, CLINIC, msp_id=HOST).read_invoice(str(SECOND_A.number))
    assert "is not a party to" in refused.value.message
    assert [peer for _, peer in contract.peers] == [HOST]


def test_a_hosted_party_cannot_act_through_another_organization(ledger: PeerLedger) -> None:
    invoice, receipt = _sale_to(CLINIC, 4)
    distributor = _facade(ledger, "DistributorAMSP")
    assert isinstance(distributor, Distributor)
    distributor.issue_invoice(invoice)
    # A client of HospitalAMSP claiming fabrx.party=CLINIC-0001: CLINIC-0001 is hosted by CityHostMSP.
    contract = LedgerContract(ledger, "HospitalAMSP", CLINIC)
    impostor = Hospital(contract, CLINIC, msp_id="HospitalAMSP")
    with pytest.raises(PharmaError) as refused:
        impostor.record_receipt(receipt)
    assert (refused.value.rule, refused.value.field) == ("ROLE", "party_id")
    assert "hosted by CityHostMSP" in refused.value.message
    assert [name for name, _ in contract.peers] == ["read_invoice"]
