"""SAMPLE DATA: a small, realistic, fully compliant two-invoice scenario with valid identifiers.

Every organisation, product, code and patient here is invented for demonstrations and tests; the
identifiers only have valid structure and check characters (USCCs computed with
:func:`~fabrx_pharma.identifiers.uscc_check_char`, GTINs with their check digit, 20-digit e-invoice
numbers, 20-digit traceability codes). The pseudonym key is public sample data, not a secret.

The story: one manufacturer produces two products in three batches, sells them on first invoices to
two distributors, who sell on second invoices to a city hospital and a remote township health centre;
the hospitals dispense to patients, and one adverse event is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from .care import AdverseEvent, Dispensing, Prescription
from .identifiers import InvoiceNumber, gtin_check_digit, org_code_check_char, pseudonymise, uscc_check_char
from .ledger import InMemoryLedger
from .parties import Party, Product, Role
from .policy import CHINA_STANDARD_TIME, DEFAULT_POLICY, TwoInvoicePolicy
from .production import Batch, RawMaterialLot
from .records import AnyRecord
from .trade import GoodsLine, Invoice, InvoiceKind, InvoiceLine, Receipt, Shipment

__all__ = [
    "SAMPLE_PSEUDONYM_KEY",
    "SampleScenario",
    "build_sample_scenario",
    "sample_gtin",
    "sample_invoice_number",
    "sample_trace_codes",
    "sample_uscc",
]

SAMPLE_PSEUDONYM_KEY = b"fabrx sample hospital key - not a secret"
"""The key the sample hospitals pseudonymise patients with. Public sample data: never use it for real."""

# Party ids. Every sample party is a member organization running its own peers, so its party id is
# also its Fabric MSP id (and its host_msp_id).
REGULATOR = "RegulatorMSP"
MANUFACTURER = "ManufacturerMSP"
DISTRIBUTOR_A = "DistributorAMSP"
DISTRIBUTOR_B = "DistributorBMSP"
HOSPITAL_A = "HospitalAMSP"
HOSPITAL_B = "HospitalBMSP"


def sample_uscc(registration: str, division: str, org_body: str) -> str:
    """Build a valid unified social credit code: 2-character registration/type code (``91`` company,
    ``12`` public institution, ``11`` government body), 6-digit division, 8-character organisation-code
    body; both check characters are computed."""
    org = org_body + org_code_check_char(org_body)
    first17 = registration + division + org
    return first17 + uscc_check_char(first17)


def sample_gtin(body: str) -> str:
    """Build a GTIN-14 from 12 or 13 digits, adding the check digit and zero padding."""
    return (body + gtin_check_digit(body)).zfill(14)


def sample_invoice_number(
    issue_date: date, sequence: int, *, province: str = "35", channel: str = "2"
) -> str:
    """Build a 20-digit fully digitalised e-invoice number issued in ``issue_date``'s year."""
    return f"{issue_date.year % 100:02d}{province}{channel}{sequence:015d}"


def sample_trace_codes(drug_id: str, first_serial: int, count: int) -> tuple[str, ...]:
    """Build ``count`` consecutive 20-digit traceability codes for a 7-digit drug identification code."""
    return tuple(f"{drug_id}{serial:013d}" for serial in range(first_serial, first_serial + count))


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_STANDARD_TIME)


@dataclass(frozen=True)
class SampleScenario:
    """The sample records, in the order and with the submitters a real consortium would write them."""

    regulator: Party
    writes: tuple[tuple[str, AnyRecord], ...]
    """(submitter party id, record) pairs, after the regulator's bootstrap."""

    def ledger(self, policy: TwoInvoicePolicy = DEFAULT_POLICY) -> InMemoryLedger:
        """A ledger with the regulator bootstrapped and every write submitted through the rules."""
        ledger = InMemoryLedger(policy=policy)
        ledger.bootstrap(self.regulator)
        for submitter, record in self.writes:
            ledger.submit(record, submitter=submitter)
        return ledger

    def records(self, record_type: type[AnyRecord]) -> tuple[AnyRecord, ...]:
        """The written records of one type, in write order."""
        return tuple(record for _, record in self.writes if isinstance(record, record_type))


def _parties() -> tuple[Party, list[Party]]:
    regulator = Party(
        party_id=REGULATOR,
        role=Role.REGULATOR,
        name="示例省卫生健康委员会 (Sample Provincial Health Commission)",
        uscc=sample_uscc("11", "350000", "00301234"),
    )
    others = [
        Party(
            MANUFACTURER,
            Role.MANUFACTURER,
            "示例制药有限公司 (Sample Pharma Co.)",
            sample_uscc("91", "350100", "MA2XK7Q1"),
        ),
        Party(
            DISTRIBUTOR_A,
            Role.DISTRIBUTOR,
            "示例医药甲有限公司 (Sample Distributor A)",
            sample_uscc("91", "350100", "MA31L8D2"),
        ),
        Party(
            DISTRIBUTOR_B,
            Role.DISTRIBUTOR,
            "示例医药乙有限公司 (Sample Distributor B)",
            sample_uscc("91", "350200", "MA8Y4C63"),
        ),
        Party(
            HOSPITAL_A,
            Role.HOSPITAL,
            "示例市第一医院 (Sample City Hospital)",
            sample_uscc("12", "350100", "48800123"),
        ),
        Party(
            HOSPITAL_B,
            Role.HOSPITAL,
            "示例镇卫生院 (Sample Township Health Centre)",
            sample_uscc("12", "350824", "48801546"),
            remote_area=True,
        ),
    ]
    return regulator, others


AMOXICILLIN = Product(
    product_id="AMOX-0.25G-24",
    name="阿莫西林胶囊 0.25g×24粒 (amoxicillin capsules)",
    manufacturer=MANUFACTURER,
    approval_number="国药准字H20243001",
    gtin=sample_gtin("690123456701"),
    trace_prefix="8123401",
)
CEFTRIAXONE = Product(
    product_id="CEFT-1G",
    name="注射用头孢曲松钠 1.0g (ceftriaxone sodium for injection)",
    manufacturer=MANUFACTURER,
    approval_number="国药准字H20243002",
    gtin=sample_gtin("690123456702"),
    trace_prefix="8123402",
)


def _batch(product: Product, number: str, produced: date, quantity: int, lots: list[RawMaterialLot]) -> Batch:
    return Batch(
        product_id=product.product_id,
        batch_number=number,
        manufacturer=product.manufacturer,
        production_date=produced,
        expiry_date=produced.replace(year=produced.year + 2) - timedelta(days=1),
        quantity=quantity,
        raw_material_lots=tuple(lots),
    )


def _invoice(
    kind: InvoiceKind,
    number: str,
    seller: str,
    buyer: str,
    issued: date,
    goods: list[tuple[Batch, int, str, tuple[str, ...]]],
) -> Invoice:
    lines = tuple(
        InvoiceLine(
            b.product_id,
            b.batch_number,
            q,
            Decimal(price),
            (Decimal(price) * q).quantize(Decimal("0.01")),
        )
        for b, q, price, _ in goods
    )
    shipped = tuple(GoodsLine(b.product_id, b.batch_number, q, codes) for b, q, _, codes in goods)
    return Invoice(
        number=InvoiceNumber.parse(number),
        kind=kind,
        seller=seller,
        buyer=buyer,
        issue_date=issued,
        lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
        shipment=Shipment(shipment_id=f"SHP-{number[-6:]}", shipped_at=_at(issued, 9), lines=shipped),
    )


def _receipt(invoice: Invoice, days_later: int = 1) -> Receipt:
    return Receipt(
        receipt_id=f"RCV-{str(invoice.number)[-6:]}",
        invoice_number=invoice.number,
        receiver=invoice.buyer,
        received_at=invoice.shipment.shipped_at + timedelta(days=days_later, hours=5),
        lines=invoice.shipment.lines,
    )


def build_sample_scenario() -> SampleScenario:
    """Build the sample scenario (deterministic: the same records every time)."""
    regulator, parties = _parties()
    amox_1 = _batch(
        AMOXICILLIN,
        "A240301",
        date(2024, 3, 1),
        1000,
        [
            RawMaterialLot(
                "阿莫西林 (amoxicillin trihydrate)",
                "API-2402-17",
                "示例原料药有限公司",
                Decimal("6.25"),
                "kg",
            ),
            RawMaterialLot(
                "明胶空心胶囊 (gelatin capsule shells)",
                "CAP-2402-03",
                "示例胶囊有限公司",
                Decimal("24000"),
                "pcs",
            ),
        ],
    )
    amox_2 = _batch(
        AMOXICILLIN,
        "A240415",
        date(2024, 4, 15),
        800,
        [
            RawMaterialLot(
                "阿莫西林 (amoxicillin trihydrate)",
                "API-2404-02",
                "示例原料药有限公司",
                Decimal("5.00"),
                "kg",
            )
        ],
    )
    ceft_1 = _batch(
        CEFTRIAXONE,
        "C240320",
        date(2024, 3, 20),
        500,
        [
            RawMaterialLot(
                "头孢曲松钠 (ceftriaxone sodium)", "API-2403-11", "示例原料药有限公司", Decimal("0.52"), "kg"
            )
        ],
    )
    codes_amox_a = sample_trace_codes("8123401", 1, 10)
    codes_ceft_a = sample_trace_codes("8123402", 1, 5)
    codes_amox_b1 = sample_trace_codes("8123401", 101, 6)
    codes_amox_b2 = sample_trace_codes("8123401", 501, 4)

    first_a = _invoice(
        InvoiceKind.FIRST,
        sample_invoice_number(date(2024, 5, 6), 1001),
        MANUFACTURER,
        DISTRIBUTOR_A,
        date(2024, 5, 6),
        [(amox_1, 200, "12.50", ()), (ceft_1, 100, "45.00", ())],
    )
    first_b = _invoice(
        InvoiceKind.FIRST,
        sample_invoice_number(date(2024, 5, 8), 1002),
        MANUFACTURER,
        DISTRIBUTOR_B,
        date(2024, 5, 8),
        [(amox_1, 150, "12.50", ()), (amox_2, 100, "12.50", ())],
    )
    second_a = _invoice(
        InvoiceKind.SECOND,
        sample_invoice_number(date(2024, 5, 20), 2001),
        DISTRIBUTOR_A,
        HOSPITAL_A,
        date(2024, 5, 20),
        [(amox_1, 10, "13.80", codes_amox_a), (ceft_1, 5, "48.60", codes_ceft_a)],
    )
    second_b = _invoice(
        InvoiceKind.SECOND,
        sample_invoice_number(date(2024, 5, 22), 2002),
        DISTRIBUTOR_B,
        HOSPITAL_B,
        date(2024, 5, 22),
        [(amox_1, 6, "13.80", codes_amox_b1), (amox_2, 4, "13.80", codes_amox_b2)],
    )

    def patient(number: str) -> str:
        return pseudonymise(SAMPLE_PSEUDONYM_KEY, number)

    rx = [
        Prescription(
            "RX-A-0001",
            HOSPITAL_A,
            patient("350102198001011234"),
            _at(date(2024, 6, 3), 10),
            (Dispensing(amox_1.product_id, amox_1.batch_number, 2, codes_amox_a[:2]),),
        ),
        Prescription(
            "RX-A-0002",
            HOSPITAL_A,
            patient("350102199205052345"),
            _at(date(2024, 6, 4), 15),
            (Dispensing(ceft_1.product_id, ceft_1.batch_number, 1, codes_ceft_a[:1]),),
        ),
        Prescription(
            "RX-B-0001",
            HOSPITAL_B,
            patient("350824196507073456"),
            _at(date(2024, 6, 5), 9),
            (
                Dispensing(amox_1.product_id, amox_1.batch_number, 1, codes_amox_b1[:1]),
                Dispensing(amox_2.product_id, amox_2.batch_number, 1, codes_amox_b2[:1]),
            ),
        ),
    ]
    event = AdverseEvent(
        report_id="ADR-A-0001",
        hospital=HOSPITAL_A,
        prescription_id="RX-A-0002",
        patient_pseudonym=rx[1].patient_pseudonym,
        reported_at=_at(date(2024, 6, 4), 17),
        description="皮疹、瘙痒 (rash and itching) 30 minutes after infusion",
        product_id=ceft_1.product_id,
        batch_number=ceft_1.batch_number,
    )

    writes: list[tuple[str, AnyRecord]] = [(REGULATOR, p) for p in parties]
    writes += [(MANUFACTURER, p) for p in (AMOXICILLIN, CEFTRIAXONE)]
    writes += [(MANUFACTURER, b) for b in (amox_1, amox_2, ceft_1)]
    writes += [(MANUFACTURER, first_a), (MANUFACTURER, first_b)]
    writes += [(DISTRIBUTOR_A, _receipt(first_a)), (DISTRIBUTOR_B, _receipt(first_b))]
    writes += [(DISTRIBUTOR_A, second_a), (DISTRIBUTOR_B, second_b)]
    writes += [(HOSPITAL_A, _receipt(second_a)), (HOSPITAL_B, _receipt(second_b, days_later=2))]
    writes += [(r.hospital, r) for r in rx]
    writes.append((HOSPITAL_A, event))
    return SampleScenario(regulator=regulator, writes=tuple(writes))
