"""The end-to-end supervision scenario behind ``fabrx demo``, run through the role facades.

:func:`run_scenario` writes one run of the sample story (:mod:`fabrx_pharma.sample`'s consortium and
products; fresh batches, invoices and prescriptions per run, so it can run again on the same ledger):
production batches with raw-material lots, first and second invoices with shipments and receipts,
prescriptions and one adverse reaction. It then injects violations of six different rules, each of
which the chaincode must refuse with its rule code and field (among them a hospital dispensing a package
shipped to another hospital); lets through what only the regulator can see afterwards (goods never
received); and ends with the hospital's verification (a genuine and a tampered first-invoice copy),
the regulator's compliance report, the trace of the adverse reaction back to the batch, manufacturer
and raw-material lots, and the batch's recall scope.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from tenacity import wait_fixed

from fabrx_pharma import (
    Dispensing,
    Finding,
    Invoice,
    InvoiceNumber,
    Party,
    Prescription,
    Product,
    RecallScope,
    Receipt,
    Role,
    Trace,
    render_findings,
    render_recall_scope,
    render_trace,
)
from fabrx_pharma.policy import CHINA_STANDARD_TIME
from fabrx_pharma.sample import build_sample_scenario

from ..errors import ConnectionFailure
from ._base import PharmaClient
from ._errors import PharmaError
from ._results import Anchor, InvoiceVerification
from ._retry import retrying
from ._story import Story, build_story
from .clients import NetworkLike, PharmaClients
from .distributor import Distributor
from .hospital import Hospital
from .manufacturer import Manufacturer
from .regulator import Regulator

__all__ = ["Refusal", "ScenarioReport", "run_scenario"]

Progress = Callable[[str], None]
T = TypeVar("T")
_ORDERER_RETRIES = 20
_ORDERER_RETRY_DELAY = 0.5


@dataclass(frozen=True)
class Refusal:
    """An injected violation: what was attempted, the rule expected, and what the chaincode answered."""

    actor: str
    attempt: str
    expected_rule: str
    rule: str | None
    """The refusal's rule code, ``None`` if the write was (wrongly) accepted."""
    field: str | None
    message: str

    @property
    def as_expected(self) -> bool:
        return self.rule == self.expected_rule


@dataclass
class ScenarioReport:
    """What one run wrote, refused and found. :meth:`render` for a person, :meth:`as_dict` for ``--json``."""

    tag: str
    bootstrapped: bool
    """Whether this run bootstrapped the chaincode (``False``: it found it bootstrapped)."""
    writes: list[tuple[str, Anchor]] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    verifications: list[tuple[str, InvoiceVerification]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    """The regulator's findings about this run's records."""
    total_findings: int = 0
    """Findings on the whole ledger (earlier runs included)."""
    traces: tuple[Trace, ...] = ()
    recall_scope: RecallScope | None = None

    @property
    def ok(self) -> bool:
        """Every injected violation was refused with the expected rule."""
        return all(r.as_expected for r in self.refusals)

    def render(self) -> str:
        out = [f"Scenario run {self.tag}: {len(self.writes)} records written"]
        out.append(
            "  (chaincode bootstrapped by this run)"
            if self.bootstrapped
            else "  (ledger already bootstrapped)"
        )
        for actor, anchor in self.writes:
            where = ", ".join(anchor.collections) or "public"
            out.append(f"  {actor:16} {anchor.record_type:14} {anchor.key}  [{where}]")
        out.append("")
        out.append("Injected violations, refused on write:")
        for r in self.refusals:
            mark = "ok " if r.as_expected else "!! "
            answer = f"{r.rule} {r.field}" if r.rule else "ACCEPTED"
            out.append(f"  {mark}{r.actor:16} {r.attempt}")
            out.append(f"      expected {r.expected_rule}; refused {answer}: {r.message}")
        out.append("")
        out.append("Hospital verification (验票):")
        for label, v in self.verifications:
            problems = "; ".join(f"{d.code} {d.field}" for d in v.discrepancies) or "none"
            out.append(
                f"  {label}: invoice {v.number} genuine={v.genuine} receipt_matches={v.receipt_matches} "
                f"copies genuine={[c.genuine for c in v.first_invoices]} -> "
                f"{'VERIFIED' if v.verified else 'NOT VERIFIED'} (discrepancies: {problems})"
            )
        out.append("")
        out.append(
            f"Regulator's compliance report, this run ({self.total_findings} finding(s) on the whole ledger):"
        )
        out.append(render_findings(self.findings).rstrip())
        out.append("")
        out.append("Trace of the adverse reaction:")
        out.extend(render_trace(t).rstrip() for t in self.traces)
        if self.recall_scope is not None:
            out.append("")
            out.append("Recall scope of the batch:")
            out.append(render_recall_scope(self.recall_scope).rstrip())
        return "\n".join(out) + "\n"

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "bootstrapped": self.bootstrapped,
            "ok": self.ok,
            "writes": [{"actor": actor, **anchor.as_dict()} for actor, anchor in self.writes],
            "refusals": [{**dataclasses.asdict(r), "as_expected": r.as_expected} for r in self.refusals],
            "verifications": [
                {"label": label, **_jsonable(dataclasses.asdict(v)), "verified": v.verified}
                for label, v in self.verifications
            ],
            "findings": [_jsonable(dataclasses.asdict(f)) for f in self.findings],
            "total_findings": self.total_findings,
            "traces": [_jsonable(dataclasses.asdict(t)) for t in self.traces],
            "recall_scope": None
            if self.recall_scope is None
            else _jsonable(dataclasses.asdict(self.recall_scope)),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


class _Run:
    def __init__(self, clients: PharmaClients, report: ScenarioReport, progress: Progress) -> None:
        self.clients = clients
        self.report = report
        self.progress = progress

    def write(self, client: PharmaClient, action: Callable[[], Anchor]) -> Anchor:
        anchor = _patiently(action)
        self.report.writes.append((client.party_id, anchor))
        self.progress(f"{client.party_id}: {anchor.record_type} {anchor.key} written")
        return anchor

    def refuse(self, client: PharmaClient, attempt: str, expected: str, action: Callable[[], object]) -> None:
        try:
            _patiently(action)
        except PharmaError as exc:
            refusal = Refusal(client.party_id, attempt, expected, exc.rule, exc.field, exc.message)
        else:
            refusal = Refusal(client.party_id, attempt, expected, None, None, "the write was accepted")
        self.report.refusals.append(refusal)
        self.progress(f"{client.party_id}: {attempt} -> {refusal.rule or 'ACCEPTED'}")


def _patiently(action: Callable[[], T]) -> T:
    """Run a write, retrying while the ordering service is unavailable: right after ``network up`` a
    Raft orderer may still be electing its leader. A refused submit was never ordered, so a retry
    (a new proposal) cannot write twice."""
    policy = retrying(
        "scenario write",
        lambda error: isinstance(error, ConnectionFailure),
        attempts=_ORDERER_RETRIES + 1,
        wait=wait_fixed(_ORDERER_RETRY_DELAY),
    )
    return policy(action)


def _setup(clients: PharmaClients, run: _Run, regulator: Regulator) -> tuple[Product, Product]:
    """Bootstrap, parties and products, each only if missing (so a second run writes none of them)."""
    sample = build_sample_scenario()
    if not regulator.is_bootstrapped():
        run.write(regulator, lambda: regulator.bootstrap(sample.regulator))
        run.report.bootstrapped = True
    for party in sample.records(Party):
        assert isinstance(party, Party)
        try:
            regulator.read_party(party.party_id)
        except PharmaError as exc:
            if exc.rule != "NOT_FOUND":
                raise
            run.write(regulator, partial(regulator.register_party, party))
    manufacturer = clients.manufacturer
    products = tuple(p for p in sample.records(Product) if isinstance(p, Product))
    for product in products:
        try:
            manufacturer.read_product(product.product_id)
        except PharmaError as exc:
            if exc.rule != "NOT_FOUND":
                raise
            run.write(manufacturer, partial(manufacturer.register_product, product))
    assert len(products) == 2
    return products[0], products[1]


def _trade(
    run: _Run, story: Story, m: Manufacturer, d: tuple[Distributor, Distributor], h: tuple[Hospital, Hospital]
) -> None:
    for batch in story.batches:
        run.write(m, partial(m.record_batch, batch))
    for invoice in story.first_invoices:
        run.write(m, partial(m.issue_invoice, invoice))
    for distributor, receipt in zip(d, story.first_receipts, strict=True):
        run.write(distributor, partial(distributor.record_receipt, receipt))
    for distributor, invoice in zip(d, story.second_invoices, strict=True):
        run.write(distributor, partial(distributor.issue_invoice, invoice))
    run.write(d[0], lambda: d[0].issue_invoice(story.unreceived))
    for hospital, receipt in zip(h, story.second_receipts, strict=True):
        run.write(hospital, partial(hospital.record_receipt, receipt))
    for prescription in story.prescriptions:
        hospital = h[0] if prescription.hospital == h[0].party_id else h[1]
        run.write(hospital, partial(hospital.record_prescription, prescription))
    run.write(h[0], lambda: h[0].report_adverse_event(story.adverse_event))


def _violations(
    run: _Run, story: Story, d: tuple[Distributor, Distributor], h: tuple[Hospital, Hospital]
) -> None:
    dist_a, dist_b = d
    hosp_a, hosp_b = h
    amox, ceft = story.batches
    second_a = story.second_invoices[0]
    spare = iter(story.numbers[5:])

    def variant(base: Invoice, **changes: Any) -> Invoice:
        return dataclasses.replace(base, **changes)

    # 1. Rule 8: an invoice number already used (here: the manufacturer's first invoice to DistributorA).
    reused = variant(second_a, number=story.first_invoices[0].number)
    run.refuse(
        dist_a,
        f"second invoice reusing number {reused.number}",
        "INVOICE_REUSED",
        lambda: dist_a.issue_invoice(reused),
    )
    # 2. Rule 2: DistributorB sells the ceftriaxone batch, which it never bought (only DistributorA did).
    never_bought = _single_line(
        variant(story.second_invoices[1], number=InvoiceNumber.parse(next(spare))),
        ceft.product_id,
        ceft.batch_number,
        2,
    )
    run.refuse(
        dist_b,
        "second invoice for a batch it never bought",
        "BUYER_SELLER_MATCH",
        lambda: dist_b.issue_invoice(never_bought),
    )
    # 3. Rule 4: DistributorA sells more amoxicillin than it received (200 received).
    too_many = _single_line(
        variant(second_a, number=InvoiceNumber.parse(next(spare))), amox.product_id, amox.batch_number, 500
    )
    run.refuse(
        dist_a,
        "second invoice for 500 packages with 200 received",
        "CONSERVATION",
        lambda: dist_a.issue_invoice(too_many),
    )
    # 4. Rule 7: a package dispensed twice (回流药): the code of the first prescription again.
    first_rx = story.prescriptions[0]
    again = Prescription(
        f"RX-A-{story.tag}-9",
        hosp_a.party_id,
        first_rx.patient_pseudonym,
        first_rx.prescribed_at + timedelta(hours=1),
        (Dispensing(amox.product_id, amox.batch_number, 1, first_rx.items[0].trace_codes[:1]),),
    )
    run.refuse(
        hosp_a,
        "prescription dispensing an already dispensed package",
        "TRACE_CODE_REUSED",
        lambda: hosp_a.record_prescription(again),
    )
    # 5. Roles: HospitalB records the receipt of goods invoiced to HospitalA.
    foreign = Receipt(
        receipt_id=f"RCV-X-{story.tag}",
        invoice_number=story.unreceived.number,
        receiver=hosp_b.party_id,
        received_at=story.unreceived.shipment.shipped_at + timedelta(hours=3),
        lines=story.unreceived.shipment.lines,
    )
    run.refuse(
        hosp_b, "receipt of an invoice addressed to HospitalA", "ROLE", lambda: hosp_b.record_receipt(foreign)
    )
    # 6. Rule 7: HospitalB dispenses a package shipped to HospitalA (串货): refused, so it cannot block
    #    HospitalA from dispensing that package.
    shipped_to_a = second_a.shipment.lines[0].trace_codes[-1:]
    elsewhere = Prescription(
        f"RX-B-{story.tag}-9",
        hosp_b.party_id,
        first_rx.patient_pseudonym,
        first_rx.prescribed_at + timedelta(hours=2),
        (Dispensing(amox.product_id, amox.batch_number, 1, shipped_to_a),),
    )
    run.refuse(
        hosp_b,
        "prescription dispensing a package shipped to HospitalA",
        "TRACE_CODE_NOT_RECEIVED",
        lambda: hosp_b.record_prescription(elsewhere),
    )


def _single_line(invoice: Invoice, product_id: str, batch_number: str, quantity: int) -> Invoice:
    line = invoice.lines[0]
    price = line.unit_price
    new_line = dataclasses.replace(
        line,
        product_id=product_id,
        batch_number=batch_number,
        quantity=quantity,
        amount=(price * quantity).quantize(Decimal("0.01")),
    )
    goods = dataclasses.replace(
        invoice.shipment.lines[0],
        product_id=product_id,
        batch_number=batch_number,
        quantity=quantity,
        trace_codes=(),
    )
    return dataclasses.replace(
        invoice,
        lines=(new_line,),
        total=new_line.amount,
        shipment=dataclasses.replace(
            invoice.shipment, shipment_id=f"SHP-{str(invoice.number)[-8:]}", lines=(goods,)
        ),
    )


def _verify(run: _Run, story: Story, hospital: Hospital) -> None:
    second_a = story.second_invoices[0]
    genuine_copy = story.first_invoices[0]
    line = genuine_copy.lines[0]
    # The distributor hands over a copy with a lower purchase price, to make its margin look smaller.
    cheaper = dataclasses.replace(
        line, unit_price=Decimal("9.50"), amount=(Decimal("9.50") * line.quantity).quantize(Decimal("0.01"))
    )
    tampered = dataclasses.replace(
        genuine_copy,
        lines=(cheaper, *genuine_copy.lines[1:]),
        total=sum((x.amount for x in (cheaper, *genuine_copy.lines[1:])), Decimal(0)),
    )
    number = str(second_a.number)
    results = hospital.verify_invoices({number: [genuine_copy]})
    run.report.verifications.append(("with the genuine first-invoice copy", results[0]))
    run.report.verifications.append(("with a tampered copy", hospital.verify_invoice(number, [tampered])))


def run_scenario(
    network: NetworkLike | PharmaClients,
    *,
    now: datetime | None = None,
    progress: Progress = lambda _: None,
) -> ScenarioReport:
    """Run the scenario on a running default consortium (``fabrx_network.ConsortiumNetwork``, or the
    :class:`PharmaClients` of one) and return what it wrote, refused and found.

    Idempotent across runs: the bootstrap, parties and products are written only when missing, and
    every other key is fresh per run (tagged from ``now``, default the current time).

    Raises :class:`PharmaError` if a compliant write is refused, :class:`~fabrx.GatewayError` if the
    network fails.
    """
    moment = (now or datetime.now(CHINA_STANDARD_TIME)).astimezone(CHINA_STANDARD_TIME)
    clients = network if isinstance(network, PharmaClients) else PharmaClients(network)
    try:
        regulator = clients.regulator
        report = ScenarioReport(tag="", bootstrapped=False)
        run = _Run(clients, report, progress)
        products = _setup(clients, run, regulator)
        orgs = {o.party_id: o for o in build_sample_scenario().records(Party) if isinstance(o, Party)}
        by_role = {role: sorted(m for m, p in orgs.items() if p.role is role) for role in Role}
        dist_ids, hosp_ids = by_role[Role.DISTRIBUTOR], by_role[Role.HOSPITAL]
        story = build_story(
            products,
            manufacturer=by_role[Role.MANUFACTURER][0],
            distributors=(dist_ids[0], dist_ids[1]),
            hospitals=(hosp_ids[0], hosp_ids[1]),
            now=moment,
        )
        report.tag = story.tag
        manufacturer = clients.manufacturer
        distributors = (clients.distributor(dist_ids[0]), clients.distributor(dist_ids[1]))
        hospitals = (clients.hospital(hosp_ids[0]), clients.hospital(hosp_ids[1]))
        _trade(run, story, manufacturer, distributors, hospitals)
        _violations(run, story, distributors, hospitals)
        _verify(run, story, hospitals[0])
        findings = regulator.compliance_report()
        keys = {str(i.number) for i in (*story.first_invoices, *story.second_invoices, story.unreceived)}
        keys |= {p.prescription_id for p in story.prescriptions}
        report.total_findings = len(findings)
        report.findings = [f for f in findings if f.subject.split(" ", 1)[-1] in keys]
        report.traces = regulator.trace(prescription_id=story.adverse_event.prescription_id)
        batch = story.batches[1]
        report.recall_scope = regulator.recall_scope(batch.product_id, batch.batch_number)
        return report
    finally:
        if clients is not network:
            clients.close()
