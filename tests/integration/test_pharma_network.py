"""The pharma chaincode and the role facades on the real consortium: privacy, roles, verification, rules.

The module runs the demo scenario once (``fabrx.pharma.scenario``) on the session's network, then
checks what each organization can and cannot do against the records it wrote.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal

import pytest

from fabrx.pharma import (
    AccessRefused,
    Distributor,
    Manufacturer,
    PharmaClients,
    PharmaError,
    RecordInvalid,
)
from fabrx.pharma.scenario import ScenarioReport, run_scenario
from fabrx_network import ConsortiumNetwork
from fabrx_pharma import Invoice, InvoiceKind, InvoiceNumber, Product


@pytest.fixture(scope="module")
def clients(network: ConsortiumNetwork) -> Iterator[PharmaClients]:
    with PharmaClients(network) as opened:
        yield opened


@pytest.fixture(scope="module")
def scenario(clients: PharmaClients) -> ScenarioReport:
    return run_scenario(clients)


def _invoices(report: ScenarioReport, seller: str, buyer_prefix: str) -> list[str]:
    return [
        anchor.key
        for actor, anchor in report.writes
        if anchor.record_type == "invoice"
        and actor == seller
        and str(anchor.public.get("buyer", "")).startswith(buyer_prefix)
    ]


def test_the_scenario_refuses_each_injected_violation_with_its_rule_and_field(
    scenario: ScenarioReport,
) -> None:
    answered = {(r.rule, r.field) for r in scenario.refusals}
    assert answered == {
        ("INVOICE_REUSED", "number"),
        ("BUYER_SELLER_MATCH", "seller"),
        ("CONSERVATION", "lines[0].quantity"),
        ("TRACE_CODE_REUSED", "items[0].trace_codes[0]"),
        ("ROLE", "receiver"),
        ("TRACE_CODE_NOT_RECEIVED", "items[0].trace_codes[0]"),
    }
    assert scenario.ok


def test_the_regulator_finds_what_writes_cannot_refuse_and_traces_the_reaction(
    scenario: ScenarioReport,
) -> None:
    rules = {finding.rule.value for finding in scenario.findings}
    assert "RECEIPT_MISSING" in rules
    (trace,) = scenario.traces
    assert trace.batch is not None and trace.raw_material_lots
    assert trace.manufacturer is not None and trace.manufacturer.party_id == "ManufacturerMSP"
    assert [hop.kind for hop in trace.chains[0]] == [InvoiceKind.FIRST, InvoiceKind.SECOND]
    assert scenario.recall_scope is not None
    assert [h.party_id for h in scenario.recall_scope.hospitals] == ["HospitalAMSP"]


def test_a_hospital_cannot_read_another_hospitals_trade(
    clients: PharmaClients, scenario: ScenarioReport
) -> None:
    number = _invoices(scenario, "DistributorAMSP", "HospitalA")[0]
    assert clients.hospital("HospitalAMSP").read_invoice(number).buyer == "HospitalAMSP"
    with pytest.raises(AccessRefused) as refused:
        clients.hospital("HospitalBMSP").read_invoice(number)
    assert (refused.value.rule, refused.value.field, refused.value.status) == ("PRIVATE_DATA", "number", 403)


def test_a_distributor_cannot_read_a_competitors_trade(
    clients: PharmaClients, scenario: ScenarioReport
) -> None:
    number = _invoices(scenario, "ManufacturerMSP", "DistributorA")[0]
    assert clients.distributor("DistributorAMSP").read_invoice(number).seller == "ManufacturerMSP"
    with pytest.raises(AccessRefused) as refused:
        clients.distributor("DistributorBMSP").read_invoice(number)
    assert refused.value.rule == "PRIVATE_DATA"


def test_the_regulator_reads_both_trades(clients: PharmaClients, scenario: ScenarioReport) -> None:
    to_hospital = _invoices(scenario, "DistributorAMSP", "HospitalA")[0]
    to_distributor = _invoices(scenario, "ManufacturerMSP", "DistributorB")[0]
    regulator = clients.regulator
    assert regulator.read_invoice(to_hospital).buyer == "HospitalAMSP"
    assert regulator.read_invoice(to_distributor).buyer == "DistributorBMSP"


def test_role_violations_are_refused_by_the_chaincode(
    clients: PharmaClients, scenario: ScenarioReport
) -> None:
    hospital_contract = clients.gateway("HospitalAMSP").get_network("pharma").get_contract("pharma")
    # A hospital posing as a manufacturer: the record names it, but its registered role is hospital.
    posing = Manufacturer(hospital_contract, "HospitalAMSP")
    product = clients.regulator.read_product("CEFT-1G")
    fake = dataclasses.replace(product, product_id=f"FAKE-{scenario.tag}", manufacturer="HospitalAMSP")
    with pytest.raises(PharmaError) as refused:
        posing.register_product(fake)
    assert refused.value.rule == "ROLE" and refused.value.status == 400


def test_only_a_regulator_reads_the_compliance_report(clients: PharmaClients) -> None:
    from fabrx.pharma import Regulator

    contract = clients.gateway("DistributorAMSP").get_network("pharma").get_contract("pharma")
    with pytest.raises(PharmaError) as refused:
        Regulator(contract, "DistributorAMSP").compliance_report()
    assert (refused.value.rule, refused.value.field) == ("ROLE", "party_id")


def test_a_tampered_first_invoice_copy_is_detected(clients: PharmaClients, scenario: ScenarioReport) -> None:
    second = _invoices(scenario, "DistributorAMSP", "HospitalA")[0]
    first_number = _invoices(scenario, "ManufacturerMSP", "DistributorA")[0]
    genuine = clients.regulator.read_invoice(first_number)  # the copy DistributorA would hand over
    line = genuine.lines[0]
    cheaper = dataclasses.replace(
        line, unit_price=Decimal("1.00"), amount=Decimal(line.quantity).quantize(Decimal("0.01"))
    )
    tampered = dataclasses.replace(
        genuine,
        lines=(cheaper, *genuine.lines[1:]),
        total=cheaper.amount + sum((x.amount for x in genuine.lines[1:]), Decimal(0)),
    )
    hospital = clients.hospital("HospitalAMSP")
    good = hospital.verify_invoice(second, [genuine])
    assert good.verified and good.genuine and good.receipt_matches and good.first_invoices[0].genuine
    bad = hospital.verify_invoice(second, [tampered])
    assert not bad.verified and not bad.first_invoices[0].genuine
    assert ("HASH_MISMATCH", "first_invoices[0]") in {(d.code, d.field) for d in bad.discrepancies}


def test_a_reused_invoice_number_is_refused_even_from_another_trade(
    clients: PharmaClients, scenario: ScenarioReport
) -> None:
    taken = _invoices(scenario, "ManufacturerMSP", "DistributorA")[0]  # DistributorB cannot read that trade
    own = _invoices(scenario, "DistributorBMSP", "HospitalB")[0]
    distributor = clients.distributor("DistributorBMSP")
    reused = dataclasses.replace(distributor.read_invoice(own), number=InvoiceNumber.parse(taken))
    with pytest.raises(PharmaError) as refused:
        distributor.issue_invoice(reused)
    assert (refused.value.rule, refused.value.field) == ("INVOICE_REUSED", "number")


def test_a_malformed_record_is_refused_before_it_is_sent(
    clients: PharmaClients, scenario: ScenarioReport
) -> None:
    distributor: Distributor = clients.distributor("DistributorAMSP")
    own = distributor.read_invoice(_invoices(scenario, "DistributorAMSP", "HospitalA")[0])
    broken: Invoice = dataclasses.replace(own, total=own.total + Decimal("1.00"))
    with pytest.raises(RecordInvalid) as refused:
        distributor.issue_invoice(broken)
    assert refused.value.status is None and refused.value.field == "total"


def test_a_second_scenario_run_on_the_same_ledger_still_works(
    clients: PharmaClients, scenario: ScenarioReport
) -> None:
    again = run_scenario(clients)
    assert again.ok and not again.bootstrapped and again.tag != scenario.tag
    assert not any(anchor.record_type in ("party", "product") for _, anchor in again.writes)


def test_products_are_public_to_every_member(clients: PharmaClients) -> None:
    product: Product = clients.hospital("HospitalBMSP").read_product("AMOX-0.25G-24")
    assert product.manufacturer == "ManufacturerMSP"


def test_an_inactive_party_is_refused_and_its_history_stays_verifiable(
    clients: PharmaClients, scenario: ScenarioReport
) -> None:
    from fabrx_pharma.sample import sample_invoice_number

    regulator = clients.regulator
    distributor = clients.distributor("DistributorBMSP")
    own = _invoices(scenario, "DistributorBMSP", "HospitalB")[0]
    earlier = distributor.read_invoice(own)
    fresh = dataclasses.replace(
        earlier, number=InvoiceNumber.parse(sample_invoice_number(earlier.issue_date, 990_000_000_000_001))
    )
    regulator.set_party_active("DistributorBMSP", False)
    try:
        assert not regulator.read_party("DistributorBMSP").active
        with pytest.raises(PharmaError) as refused:
            distributor.issue_invoice(fresh)
        assert (refused.value.rule, refused.value.field) == ("PARTY_INACTIVE", "party_id")
        # What it recorded before stays on the ledger, readable and verifiable by its buyer.
        verification = clients.hospital("HospitalBMSP").verify_invoice(own, [])
        assert verification.genuine and verification.receipt_matches
        # Only the regulator changes a registration, and never makes itself inactive.
        with pytest.raises(PharmaError) as itself:
            regulator.set_party_active(regulator.party_id, False)
        assert (itself.value.rule, itself.value.field) == ("ROLE", "active")
    finally:
        regulator.set_party_active("DistributorBMSP", True)
    assert regulator.read_party("DistributorBMSP").active
