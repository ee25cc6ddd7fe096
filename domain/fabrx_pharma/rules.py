"""The rules every write is checked against, written once for the chaincode and the SDK.

Each ``check_*`` function takes a well-formed record (see :mod:`fabrx_pharma.records`), a
:class:`~fabrx_pharma.view.LedgerView` of the committed state, the :class:`TwoInvoicePolicy` and the
party id of the submitter (the chaincode reads it from the transaction creator: its ``fabrx.party``
attribute, else its MSP id). It returns nothing if the write is allowed and raises
:class:`~fabrx_pharma.errors.RuleViolation` naming the first broken rule and the field at fault
otherwise. A function never changes the view; applying the record is the caller's business
(:func:`fabrx_pharma.stock.stock_effects` says how stock changes).

Who may write what (``ROLE``): the regulator registers parties and may recall any batch; a manufacturer,
or a party counting as it, registers its products and batches, issues first and direct invoices and
recalls its batches; the seller issues an invoice; the buyer records its receipt; a hospital records its
prescriptions and adverse-event reports.
"""

from __future__ import annotations

from ._invoice_rules import (
    check_direct_invoice,
    check_first_invoice,
    check_invoice,
    check_second_invoice,
    check_transfer_invoice,
)
from ._rule_support import (
    acting_as,
    check_codes,
    counts_as_manufacturer,
    fail,
    product_and_batch,
    registered,
    require_role,
    usable,
)
from .care import AdverseEvent, Prescription
from .errors import RuleId
from .parties import Party, Product, Role
from .policy import DEFAULT_POLICY, TwoInvoicePolicy
from .production import Batch
from .recalls import Recall
from .records import AnyRecord
from .stock import Outflow
from .trade import Invoice, Receipt, quantities
from .view import LedgerView

__all__ = [
    "check_adverse_event",
    "check_batch",
    "check_direct_invoice",
    "check_first_invoice",
    "check_invoice",
    "check_party",
    "check_prescription",
    "check_product",
    "check_recall",
    "check_receipt",
    "check_record",
    "check_second_invoice",
    "check_transfer_invoice",
    "counts_as_manufacturer",
]


# --- parties, products, batches ------------------------------------------------------------------------


def check_party(
    party: Party, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """Registering or updating a party: only the regulator, and its relations must name known parties.

    The first regulator is registered when the chaincode is initialised, outside these rules.
    """
    regulator = view.party(submitter)
    if regulator is None or regulator.role is not Role.REGULATOR:
        fail(RuleId.ROLE, "party_id", f"only the regulator registers parties; the submitter is {submitter}")
    if not party.active and party.role is Role.REGULATOR:
        fail(RuleId.ROLE, "active", "the regulator cannot be made inactive: nobody could register parties")
    if party.parent_party_id is not None:
        registered(view, party.parent_party_id, "parent_party_id")
    if not party.is_member:
        host = registered(view, party.host_msp_id, "host_msp_id")
        if not host.is_member:
            fail(
                RuleId.ROLE,
                "host_msp_id",
                f"{host.party_id} is itself hosted by {host.host_msp_id}: only a member organization hosts",
            )
    for i, manufacturer in enumerate(party.counts_as_manufacturer_of):
        field = f"counts_as_manufacturer_of[{i}]"
        made_by = registered(view, manufacturer, field)
        require_role(made_by, [Role.MANUFACTURER], field, "counting as one")
        if made_by.host_msp_id != party.host_msp_id:
            # It draws on the manufacturer's stock, which only the manufacturer's node keeps.
            fail(
                RuleId.ROLE,
                field,
                f"{party.party_id} counts as {manufacturer}, so it must be hosted where {manufacturer} is "
                f"({made_by.host_msp_id}), not by {party.host_msp_id}",
            )


def check_product(
    product: Product, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """Registering a product: by its manufacturer (or a party counting as it), once per product id."""
    manufacturer = registered(view, product.manufacturer, "manufacturer")
    require_role(manufacturer, [Role.MANUFACTURER], "manufacturer", "making a product")
    acting = registered(view, submitter, "manufacturer")
    if not counts_as_manufacturer(acting, product.manufacturer):
        fail(RuleId.ROLE, "manufacturer", f"{submitter} cannot register a product of {product.manufacturer}")
    if view.product(product.product_id) is not None:
        fail(RuleId.DUPLICATE_RECORD, "product_id", f"product {product.product_id} is already registered")


def check_batch(
    batch: Batch, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """Recording a production batch: of a registered product, by its manufacturer, once."""
    product = view.product(batch.product_id)
    if product is None:
        fail(RuleId.UNKNOWN_PRODUCT, "product_id", f"product {batch.product_id} is not registered")
    if batch.manufacturer != product.manufacturer:
        fail(
            RuleId.PRODUCT_BATCH_MATCH,
            "manufacturer",
            f"product {product.product_id} is made by {product.manufacturer}, not {batch.manufacturer}",
        )
    acting = registered(view, submitter, "manufacturer")
    if not counts_as_manufacturer(acting, batch.manufacturer):
        fail(RuleId.ROLE, "manufacturer", f"{submitter} cannot record batches of {batch.manufacturer}")
    if view.batch(batch.product_id, batch.batch_number) is not None:
        fail(RuleId.DUPLICATE_RECORD, "batch_number", f"batch {batch.key} is already recorded")


# --- receipts -------------------------------------------------------------------------------------------


def check_receipt(
    receipt: Receipt, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """Recording the receipt of an invoice's goods, by a distributor or a hospital.

    Only the invoice's buyer receives, once per invoice, not before the goods were shipped, and only
    what the shipment carried (票货同行): no other product or batch, no more than shipped, and only
    traceability codes the shipment listed. Receiving less than shipped is allowed (goods can be lost
    or damaged in transit); the regulator's report lists such shortfalls.
    """
    key = str(receipt.invoice_number)
    invoice = view.invoice(key)
    if invoice is None:
        fail(RuleId.UNKNOWN_INVOICE, "invoice_number", f"invoice {key} is not on the ledger")
    acting_as(view, submitter, receipt.receiver, "receiver", "record the receipt as the receiver")
    if receipt.receiver != invoice.buyer:
        fail(RuleId.ROLE, "receiver", f"invoice {key} was issued to {invoice.buyer}, not {receipt.receiver}")
    if view.receipt_of(key) is not None:
        fail(RuleId.DUPLICATE_RECORD, "invoice_number", f"the goods of invoice {key} were already received")
    if receipt.received_at < invoice.shipment.shipped_at:
        fail(
            RuleId.TIME_ORDER,
            "received_at",
            f"received at {receipt.received_at.isoformat()}, before shipment at "
            f"{invoice.shipment.shipped_at.isoformat()}",
        )
    shipped = quantities(invoice.shipment.lines)
    shipped_codes = invoice.shipment.trace_codes
    received: dict[tuple[str, str], int] = {}
    for j, line in enumerate(receipt.lines):
        path = f"lines[{j}]"
        batch_key = (line.product_id, line.batch_number)
        if batch_key not in shipped:
            fail(
                RuleId.INVOICE_GOODS_RECEIPT,
                f"{path}.batch_number",
                f"invoice {key} shipped no batch {line.batch_number} of {line.product_id}",
            )
        received[batch_key] = received.get(batch_key, 0) + line.quantity
        if received[batch_key] > shipped[batch_key]:
            fail(
                RuleId.INVOICE_GOODS_RECEIPT,
                f"{path}.quantity",
                f"receives {received[batch_key]} of batch {line.batch_number} but invoice {key} "
                f"shipped {shipped[batch_key]}",
            )
        for k, code in enumerate(line.trace_codes):
            if code not in shipped_codes:
                fail(
                    RuleId.INVOICE_GOODS_RECEIPT,
                    f"{path}.trace_codes[{k}]",
                    f"traceability code {code} was not on the shipment of invoice {key}",
                )


# --- hospital side --------------------------------------------------------------------------------------


def check_prescription(
    prescription: Prescription, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """Recording a prescription and its dispensing at a hospital.

    The hospital must have received enough of each batch; a batch must be usable when prescribed (not
    recalled or expired); each traceability code must belong to the product and batch, have come in on
    one of the hospital's own receipts (``TRACE_CODE_NOT_RECEIVED``: otherwise a hospital could dispense,
    and so block, a package another hospital holds), and never have been dispensed before
    (``TRACE_CODE_REUSED``: suspected resale of a returned drug, 回流药).
    """
    hospital = acting_as(view, submitter, prescription.hospital, "hospital", "record its prescriptions")
    require_role(hospital, [Role.HOSPITAL], "hospital", "dispensing")
    if view.prescription(prescription.prescription_id) is not None:
        fail(
            RuleId.DUPLICATE_RECORD,
            "prescription_id",
            f"prescription {prescription.prescription_id} is already recorded",
        )
    prescribed_on = policy.local_date(prescription.prescribed_at)
    seen: dict[str, str] = {}
    for i, item in enumerate(prescription.items):
        path = f"items[{i}]"
        product, batch = product_and_batch(view, item.product_id, item.batch_number, path)
        usable(view, batch, prescribed_on, path, "prescribed_at", "dispensed")
        check_codes(product, batch, item, path)
        for k, code in enumerate(item.trace_codes):
            field = f"{path}.trace_codes[{k}]"
            earlier = view.dispensed_in(code) or seen.get(code)
            if earlier is not None:
                fail(
                    RuleId.TRACE_CODE_REUSED,
                    field,
                    f"traceability code {code} was already dispensed in prescription {earlier}: "
                    "suspected resale of a returned drug",
                )
            if view.received_in(hospital.party_id, code) is None:
                fail(
                    RuleId.TRACE_CODE_NOT_RECEIVED,
                    field,
                    f"traceability code {code} was not received by {hospital.party_id}: no receipt of its "
                    "own lists it",
                )
            seen[code] = prescription.prescription_id
    for i, ((product_id, batch_number), quantity) in enumerate(quantities(prescription.items).items()):
        position = view.stock(hospital.party_id, product_id, batch_number)
        if quantity > position.available(Outflow.DISPENSED):
            fail(
                RuleId.CONSERVATION,
                _item_field(prescription, product_id, batch_number, i),
                f"{hospital.party_id} has received {position.received} of batch {batch_number} of "
                f"{product_id} and dispensed {position.dispensed}; it cannot dispense {quantity} more",
            )


def _item_field(prescription: Prescription, product_id: str, batch_number: str, default: int) -> str:
    for i, item in enumerate(prescription.items):
        if (item.product_id, item.batch_number) == (product_id, batch_number):
            return f"items[{i}].quantity"
    return f"items[{default}].quantity"


def check_adverse_event(
    event: AdverseEvent, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """Reporting an adverse event: by the hospital that dispensed, about a batch of that prescription."""
    hospital = acting_as(view, submitter, event.hospital, "hospital", "report its adverse events")
    require_role(hospital, [Role.HOSPITAL], "hospital", "reporting adverse events")
    if view.adverse_event(event.report_id) is not None:
        fail(RuleId.DUPLICATE_RECORD, "report_id", f"report {event.report_id} is already recorded")
    prescription = view.prescription(event.prescription_id)
    if prescription is None:
        fail(
            RuleId.UNKNOWN_PRESCRIPTION,
            "prescription_id",
            f"prescription {event.prescription_id} is not recorded",
        )
    if prescription.hospital != event.hospital:
        fail(
            RuleId.ROLE,
            "hospital",
            f"prescription {prescription.prescription_id} was recorded by {prescription.hospital}",
        )
    if prescription.patient_pseudonym != event.patient_pseudonym:
        fail(
            RuleId.PATIENT_MISMATCH,
            "patient_pseudonym",
            f"prescription {prescription.prescription_id} is for another patient",
        )
    if not any(
        (item.product_id, item.batch_number) == (event.product_id, event.batch_number)
        for item in prescription.items
    ):
        fail(
            RuleId.PRODUCT_BATCH_MATCH,
            "batch_number",
            f"prescription {prescription.prescription_id} dispensed nothing of batch {event.product_id}/"
            f"{event.batch_number}",
        )
    if event.reported_at < prescription.prescribed_at:
        fail(RuleId.TIME_ORDER, "reported_at", "an adverse event cannot be reported before the prescription")


def check_recall(
    recall: Recall, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """Recalling a batch: by the regulator or the batch's manufacturer (or a party counting as it), once."""
    party = acting_as(view, submitter, recall.by, "by", "order a recall as its issuer")
    batch = view.batch(recall.product_id, recall.batch_number)
    if batch is None:
        fail(RuleId.UNKNOWN_BATCH, "batch_number", f"batch {recall.key} is not recorded")
    if party.role is not Role.REGULATOR and not counts_as_manufacturer(party, batch.manufacturer):
        fail(RuleId.ROLE, "by", f"only the regulator or {batch.manufacturer} can recall batch {recall.key}")
    if view.recall(recall.product_id, recall.batch_number) is not None:
        fail(RuleId.BATCH_RECALLED, "batch_number", f"batch {recall.key} is already recalled")
    if policy.local_date(recall.recalled_at) < batch.production_date:
        fail(RuleId.TIME_ORDER, "recalled_at", f"batch {recall.key} was produced on {batch.production_date}")


def check_record(
    record: AnyRecord, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """Check any record with the rule function for its type.

    First of all, an inactive party (see :attr:`Party.active`) records nothing and is invoiced by
    nobody (``PARTY_INACTIVE``); the regulator may still update its registration (to reactivate it).
    """
    if not isinstance(record, Party):
        author = view.party(submitter)
        if author is not None and not author.active:
            fail(
                RuleId.PARTY_INACTIVE,
                "party_id",
                f"{submitter} has been made inactive by the regulator and can record nothing more",
            )
    if isinstance(record, Invoice):
        buyer = view.party(record.buyer)
        if buyer is not None and not buyer.active:
            fail(RuleId.PARTY_INACTIVE, "buyer", f"{record.buyer} has been made inactive by the regulator")
    if isinstance(record, Party):
        check_party(record, view, policy, submitter=submitter)
    elif isinstance(record, Product):
        check_product(record, view, policy, submitter=submitter)
    elif isinstance(record, Batch):
        check_batch(record, view, policy, submitter=submitter)
    elif isinstance(record, Invoice):
        check_invoice(record, view, policy, submitter=submitter)
    elif isinstance(record, Receipt):
        check_receipt(record, view, policy, submitter=submitter)
    elif isinstance(record, Prescription):
        check_prescription(record, view, policy, submitter=submitter)
    elif isinstance(record, AdverseEvent):
        check_adverse_event(record, view, policy, submitter=submitter)
    else:
        check_recall(record, view, policy, submitter=submitter)
