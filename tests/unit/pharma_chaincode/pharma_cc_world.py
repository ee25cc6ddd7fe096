"""A consortium on an in-memory channel, for driving ``PharmaService`` as each organization's client."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import pytest

from fabrx_pharma import (
    AdverseEvent,
    AnyRecord,
    Batch,
    Dispensing,
    Exemption,
    GoodsLine,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumber,
    Party,
    Prescription,
    Product,
    Recall,
    Receipt,
    Role,
    Shipment,
    pseudonymise,
)
from fabrx_pharma.policy import CHINA_STANDARD_TIME
from fabrx_pharma.privacy import endorsing_organizations, implicit_collection
from fabrx_pharma.sample import (
    build_sample_scenario,
    sample_gtin,
    sample_invoice_number,
    sample_trace_codes,
    sample_uscc,
)
from fabrx_pharma_chaincode import (
    RECORD_TRANSIENT_KEY,
    ROLE_ATTRIBUTE,
    Anchor,
    ChaincodeError,
    PharmaService,
    composite_key,
)
from fabrx_pharma_chaincode.ledger import PARTY_ATTRIBUTE
from fabrx_pharma_chaincode.service import INVOICE_TRANSIENT_KEY
from fabrx_pharma_chaincode.testing import MemoryChannel, MemoryStore

T = TypeVar("T")

SCENARIO = build_sample_scenario()


def write_method(record: AnyRecord) -> tuple[Callable[[PharmaService], Anchor], bool]:
    """The service call that writes ``record``, and whether the record travels in the transient map."""
    data = record.to_json()
    if isinstance(record, Party):
        return (lambda s: s.register_party(data)), False
    if isinstance(record, Product):
        return (lambda s: s.register_product(data)), False
    if isinstance(record, Recall):
        return (lambda s: s.recall_batch(data)), False
    if isinstance(record, Batch):
        return PharmaService.record_batch, True
    if isinstance(record, Invoice):
        return PharmaService.issue_invoice, True
    if isinstance(record, Receipt):
        return PharmaService.record_receipt, True
    if isinstance(record, Prescription):
        return PharmaService.record_prescription, True
    assert isinstance(record, AdverseEvent)
    return PharmaService.report_adverse_event, True


class Consortium:
    """The parties on one channel (member organizations, and hosted parties on their hosts), the regulator
    bootstrapped, nothing else written. Every write is endorsed as the facades endorse it: on a peer of
    the client's host and on the regulator's, which must produce identical results."""

    def __init__(
        self, regulator: Party, parties: Iterable[Party], *, policy_json: bytes | None = None
    ) -> None:
        self.parties = [regulator, *parties]
        self.by_id = {p.party_id: p for p in self.parties}
        self.regulator_msp_id = regulator.party_id
        members = {p.host_msp_id for p in self.parties}
        self.channel = MemoryChannel.with_members(members, regulator.party_id)
        self.last: MemoryStore | None = None
        self.run(regulator.party_id, lambda s: s.bootstrap(regulator.to_json(), policy_json))
        for party in parties:
            self.submit(regulator.party_id, party)

    def client(self, party_id: str, role: str | None = None) -> tuple[str, dict[str, str]]:
        """The MSP id and certificate attributes of a client acting for ``party_id``."""
        party = self.by_id.get(party_id)
        msp_id = party.host_msp_id if party is not None else party_id
        attributes = {ROLE_ATTRIBUTE: role or (party.role.value if party is not None else "distributor")}
        if party is not None and not party.is_member:
            attributes[PARTY_ATTRIBUTE] = party_id
        return msp_id, attributes

    def endorsers(self, party_id: str) -> tuple[str, ...]:
        msp_id, _ = self.client(party_id)
        return endorsing_organizations(msp_id, self.regulator_msp_id)

    def store(
        self,
        party_id: str,
        *,
        transient: dict[str, bytes] | None = None,
        role: str | None = None,
        timestamp: datetime | None = None,
        peer: str | None = None,
    ) -> MemoryStore:
        """One transaction of ``party_id``'s client on a peer of ``peer`` (default: its host's)."""
        msp_id, attributes = self.client(party_id, role)
        self.last = self.channel.transaction(
            msp_id, attributes=attributes, transient=transient, timestamp=timestamp, peer=peer
        )
        return self.last

    def run(
        self,
        party_id: str,
        call: Callable[[PharmaService], T],
        *,
        transient: dict[str, bytes] | None = None,
        role: str | None = None,
        timestamp: datetime | None = None,
    ) -> T:
        """Run one transaction as a client of ``party_id``, endorsed by its host's and the regulator's
        peers, and commit it."""
        msp_id, attributes = self.client(party_id, role)

        def action(store: MemoryStore) -> T:
            self.last = store
            return call(PharmaService(store))

        return self.channel.endorse(
            msp_id,
            self.endorsers(party_id),
            action,
            attributes=attributes,
            transient=transient,
            timestamp=timestamp,
        )

    def evaluate(
        self,
        party_id: str,
        call: Callable[[PharmaService], T],
        *,
        peer: str | None = None,
        **transient: bytes,
    ) -> T:
        """Evaluate (nothing committed) as ``party_id``'s client on ``peer``'s peer (default: its host)."""
        return call(PharmaService(self.store(party_id, transient=dict(transient) or None, peer=peer)))

    def invoice_copy(self, number: str) -> bytes | None:
        """The invoice as the regulator's collection keeps it (what a buyer fetches before its receipt)."""
        return self.channel.value(
            implicit_collection(self.regulator_msp_id), composite_key("invoice", number)
        )

    def transient_for(self, record: AnyRecord) -> dict[str, bytes] | None:
        _, private = write_method(record)
        if not private:
            return None
        transient = {RECORD_TRANSIENT_KEY: record.to_json()}
        if isinstance(record, Receipt):
            copy = self.invoice_copy(str(record.invoice_number))
            if copy is not None:
                transient[INVOICE_TRANSIENT_KEY] = copy
        return transient

    def submit(self, party_id: str, record: AnyRecord, *, timestamp: datetime | None = None) -> Anchor:
        method, _ = write_method(record)
        return self.run(party_id, method, transient=self.transient_for(record), timestamp=timestamp)

    def refuse(
        self,
        party_id: str,
        record: AnyRecord,
        *,
        role: str | None = None,
        timestamp: datetime | None = None,
    ) -> ChaincodeError:
        """Submit a record that must be refused; return the error after checking nothing was put."""
        method, _ = write_method(record)
        store = self.store(party_id, transient=self.transient_for(record), role=role, timestamp=timestamp)
        with pytest.raises(ChaincodeError) as caught:
            method(PharmaService(store))
        assert not store.written, "a refused transaction must not put anything"
        return caught.value


def sample_consortium() -> Consortium:
    """The sample scenario's organizations, with every sample write committed."""
    parties = [record for _, record in SCENARIO.writes if isinstance(record, Party)]
    world = Consortium(SCENARIO.regulator, parties)
    for submitter, record in SCENARIO.writes:
        if not isinstance(record, Party):
            world.submit(submitter, record)
    return world


# --- a richer consortium for the rules: group subsidiaries, remote areas, a sales company -----------------

REG = "RegulatorMSP"
MAKER = "MakerMSP"
OTHER_MAKER = "OtherMakerMSP"
SALES = "MakerSalesMSP"
DIST_A = "DistAMSP"
DIST_SUB = "DistASubMSP"
DIST_B = "DistBMSP"
HOSP = "CityHospitalMSP"
HOSP_B = "SecondHospitalMSP"
HOSP_REMOTE = "TownshipMSP"
KEY = b"unit test hospital pseudonym key"
ISSUED = date(2024, 5, 6)


def _party(party_id: str, role: Role, org: str, **extra: object) -> Party:
    registration = "12" if role is Role.HOSPITAL else "91"
    uscc = sample_uscc(registration, "350100", org)
    return Party(party_id, role, f"{party_id} name", uscc, **extra)  # type: ignore[arg-type]


REGULATOR_PARTY = Party(REG, Role.REGULATOR, "regulator", sample_uscc("11", "350000", "00301234"))
PARTIES = [
    _party(MAKER, Role.MANUFACTURER, "MA000001"),
    _party(OTHER_MAKER, Role.MANUFACTURER, "MA000002"),
    _party(DIST_A, Role.DISTRIBUTOR, "MA000003"),
    _party(DIST_SUB, Role.DISTRIBUTOR, "MA000004", parent_party_id=DIST_A),
    _party(DIST_B, Role.DISTRIBUTOR, "MA000005"),
    _party(SALES, Role.DISTRIBUTOR, "MA000007", counts_as_manufacturer_of=(MAKER,), host_msp_id=MAKER),
    _party(HOSP, Role.HOSPITAL, "48800001"),
    _party(HOSP_B, Role.HOSPITAL, "48800003"),
    _party(HOSP_REMOTE, Role.HOSPITAL, "48800002", remote_area=True),
]
AMOX = Product("AMOX", "amoxicillin", MAKER, "国药准字H20243001", sample_gtin("690123456701"), "8123401")
OTHER = Product("OTHER", "other drug", OTHER_MAKER, "国药准字Z20243003", None, "8123499")
A1 = Batch("AMOX", "A1", MAKER, date(2024, 3, 1), date(2026, 2, 28), 1000)
A2 = Batch("AMOX", "A2", MAKER, date(2024, 4, 1), date(2024, 6, 30), 500)
O1 = Batch("OTHER", "O1", OTHER_MAKER, date(2024, 3, 1), date(2026, 2, 28), 300)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_STANDARD_TIME)


def amox_codes(first: int, count: int) -> tuple[str, ...]:
    return sample_trace_codes("8123401", first, count)


class RulesWorld(Consortium):
    """The parties above, their products and batches registered; invoices numbered from 1."""

    def __init__(self, *, policy_json: bytes | None = None) -> None:
        super().__init__(REGULATOR_PARTY, PARTIES, policy_json=policy_json)
        for record in (AMOX, OTHER):
            self.submit(record.manufacturer, record)
        for batch in (A1, A2, O1):
            self.submit(batch.manufacturer, batch)
        self._sequence = 0

    def invoice(
        self,
        kind: InvoiceKind,
        seller: str,
        buyer: str,
        goods: Sequence[tuple[Batch, int, tuple[str, ...]]] = ((A1, 10, ()),),
        *,
        issued: date = ISSUED,
        number: str | None = None,
        exemption: Exemption | None = None,
    ) -> Invoice:
        if number is None:
            self._sequence += 1
            number = sample_invoice_number(issued, self._sequence)
        lines = tuple(
            InvoiceLine(b.product_id, b.batch_number, q, Decimal("10.00"), Decimal("10.00") * q)
            for b, q, _ in goods
        )
        return Invoice(
            number=InvoiceNumber.parse(number),
            kind=kind,
            seller=seller,
            buyer=buyer,
            issue_date=issued,
            lines=lines,
            total=sum((line.amount for line in lines), Decimal(0)),
            shipment=Shipment(
                f"SHP-{number[-6:]}",
                at(issued),
                tuple(GoodsLine(b.product_id, b.batch_number, q, codes) for b, q, codes in goods),
            ),
            exemption=exemption,
        )

    @staticmethod
    def receipt(invoice: Invoice, *, lines: tuple[GoodsLine, ...] | None = None, hours: int = 5) -> Receipt:
        return Receipt(
            f"RCV-{str(invoice.number)[-6:]}",
            invoice.number,
            invoice.buyer,
            invoice.shipment.shipped_at + timedelta(hours=hours),
            invoice.shipment.lines if lines is None else lines,
        )

    def deliver(self, invoice: Invoice) -> Invoice:
        """Issue the invoice as its seller and record its full receipt as its buyer."""
        self.submit(invoice.seller, invoice)
        self.submit(invoice.buyer, self.receipt(invoice))
        return invoice

    def stock_hospital(
        self, hospital: str, quantity: int = 10, codes: tuple[str, ...] = (), *, distributor: str = DIST_A
    ) -> Invoice:
        """MAKER -> distributor -> hospital, both delivered; returns the second invoice."""
        self.deliver(self.invoice(InvoiceKind.FIRST, MAKER, distributor, ((A1, quantity, ()),)))
        return self.deliver(self.invoice(InvoiceKind.SECOND, distributor, hospital, ((A1, quantity, codes),)))

    @staticmethod
    def prescription(
        prescription_id: str,
        hospital: str,
        codes: tuple[str, ...] = (),
        *,
        quantity: int | None = None,
        patient: str = "p1",
    ) -> Prescription:
        return Prescription(
            prescription_id,
            hospital,
            pseudonymise(KEY, patient),
            at(date(2024, 6, 3), 10),
            (Dispensing("AMOX", "A1", quantity if quantity is not None else max(len(codes), 1), codes),),
        )
