"""The rules for invoices of every kind (re-exported by :mod:`fabrx_pharma.rules`).

Chain length: a first invoice (manufacturer, or a party counting as it → distributor) and a second
invoice (distributor → hospital) make the two allowed invoices; a direct invoice (manufacturer →
hospital) is a chain of one. A transfer invoice (distributor → distributor) is the one extra invoice an
enabled exemption allows: to the seller's subsidiary (group transfer) or to a distributor serving remote
areas (remote delivery, whose goods may then reach only remote-area hospitals). Goods received on a
transfer can never be transferred again. In one-invoice mode only direct invoices are accepted. Which
goods may go where is counted by :class:`~fabrx_pharma.stock.StockPosition`.
"""

from __future__ import annotations

from datetime import date

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
from .errors import RuleId
from .identifiers import InvoiceNumber
from .parties import Party, Product, Role
from .policy import DEFAULT_POLICY, TwoInvoicePolicy
from .production import Batch
from .stock import Outflow, invoice_outflow, stock_holder
from .trade import Exemption, Invoice, InvoiceKind, quantities
from .view import LedgerView

__all__ = [
    "check_direct_invoice",
    "check_first_invoice",
    "check_invoice",
    "check_second_invoice",
    "check_transfer_invoice",
]


def check_invoice(
    invoice: Invoice, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """Issuing an invoice of any kind: the checks of :func:`check_first_invoice` and its siblings."""
    {
        InvoiceKind.FIRST: check_first_invoice,
        InvoiceKind.SECOND: check_second_invoice,
        InvoiceKind.TRANSFER: check_transfer_invoice,
        InvoiceKind.DIRECT: check_direct_invoice,
    }[invoice.kind](invoice, view, policy, submitter=submitter)


def _expect_kind(invoice: Invoice, kind: InvoiceKind) -> None:
    if invoice.kind is not kind:
        raise ValueError(f"expected a {kind.value} invoice, got {invoice.kind.value}")


def check_first_invoice(
    invoice: Invoice, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """A first invoice: the manufacturer (or a party counting as it) sells to a distributor.

    Refused in one-invoice mode. Besides the roles, checks everything every invoice is checked for:
    unused number, product and batch corroborating, batch usable, invoice and shipment agreeing, time
    order, and the manufacturer not invoicing more of a batch than it produced.
    """
    _expect_kind(invoice, InvoiceKind.FIRST)
    seller, buyer = _invoice_parties(invoice, view, policy, submitter)
    require_role(buyer, [Role.DISTRIBUTOR], "buyer", "buying on a first invoice")
    _check_invoice_goods(invoice, view, policy, seller=seller, buyer=buyer)


def check_direct_invoice(
    invoice: Invoice, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """A direct invoice: the manufacturer (or a party counting as it) sells to a hospital (chain of one).

    Allowed in both modes; the only kind allowed in one-invoice mode.
    """
    _expect_kind(invoice, InvoiceKind.DIRECT)
    seller, buyer = _invoice_parties(invoice, view, policy, submitter)
    require_role(buyer, [Role.HOSPITAL], "buyer", "buying on a direct invoice")
    _check_invoice_goods(invoice, view, policy, seller=seller, buyer=buyer)


def check_transfer_invoice(
    invoice: Invoice, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """A transfer invoice: a distributor sells to another distributor under an enabled exemption.

    Group transfer: the buyer is the seller's wholly-owned or controlled subsidiary. Remote delivery:
    the buyer serves remote township or village facilities (``remote_area``) and may then sell the goods
    only to remote-area facilities. Goods received on a transfer can never be transferred again.
    """
    _expect_kind(invoice, InvoiceKind.TRANSFER)
    seller, buyer = _invoice_parties(invoice, view, policy, submitter)
    require_role(seller, [Role.DISTRIBUTOR], "seller", "issuing a transfer invoice")
    require_role(buyer, [Role.DISTRIBUTOR], "buyer", "buying on a transfer invoice")
    if invoice.exemption is Exemption.GROUP_TRANSFER:
        if not policy.allow_group_transfer:
            fail(
                RuleId.CHAIN_LENGTH,
                "exemption",
                "the policy does not allow group transfers as a third invoice",
            )
        if buyer.parent_party_id != seller.party_id:
            fail(
                RuleId.CHAIN_LENGTH,
                "buyer",
                f"{buyer.party_id} is not a subsidiary of {seller.party_id}, "
                "so this would be a third invoice",
            )
    else:
        if not policy.allow_remote_delivery:
            fail(
                RuleId.CHAIN_LENGTH,
                "exemption",
                "the policy does not allow remote delivery as a third invoice",
            )
        if not buyer.remote_area:
            fail(
                RuleId.CHAIN_LENGTH,
                "buyer",
                f"{buyer.party_id} does not serve remote areas, so this would be a third invoice",
            )
    _check_invoice_goods(invoice, view, policy, seller=seller, buyer=buyer)


def check_second_invoice(
    invoice: Invoice, view: LedgerView, policy: TwoInvoicePolicy = DEFAULT_POLICY, *, submitter: str
) -> None:
    """A second invoice: a distributor sells to a hospital goods it bought and received.

    The seller must be the buyer of an earlier invoice for each batch (``BUYER_SELLER_MATCH``), have
    received enough of it (``CONSERVATION``), not date or ship the sale before it first received the
    batch (``TIME_ORDER``), and goods that came on a remote-delivery transfer may only go to a
    remote-area hospital (``CHAIN_LENGTH``).
    """
    _expect_kind(invoice, InvoiceKind.SECOND)
    seller, buyer = _invoice_parties(invoice, view, policy, submitter)
    require_role(seller, [Role.DISTRIBUTOR], "seller", "issuing a second invoice")
    require_role(buyer, [Role.HOSPITAL], "buyer", "buying on a second invoice")
    _check_invoice_goods(invoice, view, policy, seller=seller, buyer=buyer)


def _invoice_parties(
    invoice: Invoice, view: LedgerView, policy: TwoInvoicePolicy, submitter: str
) -> tuple[Party, Party]:
    seller = acting_as(view, submitter, invoice.seller, "seller", "issue invoices as the seller")
    buyer = registered(view, invoice.buyer, "buyer")
    if policy.one_invoice_mode and invoice.kind is not InvoiceKind.DIRECT:
        fail(
            RuleId.ONE_INVOICE_MODE,
            "kind",
            f"one-invoice mode: only direct invoices from manufacturer to hospital, not {invoice.kind.value}",
        )
    key = str(invoice.number)
    if view.invoice(key) is not None:
        fail(RuleId.INVOICE_REUSED, "number", f"invoice {key} is already on the ledger")
    _check_number_year(invoice.number, invoice.issue_date)
    return seller, buyer


def _check_number_year(number: InvoiceNumber, issue_date: date) -> None:
    if number.year is not None and number.year != issue_date.year % 100:
        fail(
            RuleId.INVOICE_NUMBER_DATE,
            "number",
            f"invoice {number} was numbered in 20{number.year:02d} but is dated {issue_date}",
        )


def _check_invoice_goods(
    invoice: Invoice, view: LedgerView, policy: TwoInvoicePolicy, *, seller: Party, buyer: Party
) -> None:
    batches: dict[tuple[str, str], tuple[Product, Batch]] = {}
    for i, line in enumerate(invoice.lines):
        path = f"lines[{i}]"
        product, batch = product_and_batch(view, line.product_id, line.batch_number, path)
        if invoice.kind in (InvoiceKind.FIRST, InvoiceKind.DIRECT) and not counts_as_manufacturer(
            seller, batch.manufacturer
        ):
            fail(
                RuleId.ROLE,
                "seller",
                f"{seller.party_id} is not (and does not count as) {batch.manufacturer}, who makes it",
            )
        usable(view, batch, invoice.issue_date, path, "issue_date", "sold")
        batches[batch.batch_key] = (product, batch)

    _check_shipment(invoice, policy, batches)
    if invoice.kind in (InvoiceKind.SECOND, InvoiceKind.TRANSFER):
        _check_sold_after_receipt(invoice, view, policy, batches)

    outflow = invoice_outflow(invoice, buyer)
    for (product_id, batch_number), quantity in quantities(invoice.lines).items():
        batch = batches[(product_id, batch_number)][1]
        field = _line_field(invoice, product_id, batch_number)
        holder = stock_holder(invoice, batch)
        position = view.stock(holder, product_id, batch_number)
        if quantity <= position.available(outflow):
            continue
        label = f"batch {batch_number} of {product_id}"
        if holder == batch.manufacturer:
            fail(
                RuleId.CONSERVATION,
                field,
                f"{holder} produced {position.received} of {label}, has invoiced {position.out}, "
                f"and cannot invoice {quantity} more",
            )
        if view.purchased(holder, product_id, batch_number) == 0:
            fail(
                RuleId.BUYER_SELLER_MATCH,
                "seller",
                f"{holder} has no purchase of {label} on record, so it cannot sell it (on the ledger a "
                "purchase counts from its receipt)",
            )
        if quantity <= position.available(Outflow.REMOTE_HOSPITAL):
            onward = "to another distributor" if outflow is Outflow.ONWARD else f"to {buyer.party_id}"
            fail(
                RuleId.CHAIN_LENGTH,
                field,
                f"{holder}'s stock of {label} came on a transfer invoice; selling it {onward} "
                "would exceed the allowed invoice chain",
            )
        fail(
            RuleId.CONSERVATION,
            field,
            f"{holder} has received {position.received} of {label} and already sold or dispensed "
            f"{position.out}; {quantity} more would exceed what it received",
        )


def _check_sold_after_receipt(
    invoice: Invoice,
    view: LedgerView,
    policy: TwoInvoicePolicy,
    batches: dict[tuple[str, str], tuple[Product, Batch]],
) -> None:
    """A distributor sells (and ships) a batch only once it has bought and received it: neither the issue
    date nor the shipment's date (calendar dates in the policy's zone, as every date check) may lie before
    the day of its first receipt of the batch. A receipt follows the purchase invoice's shipment, so it is
    the later of the two; without any receipt the stock checks refuse the sale."""
    shipped_on = policy.local_date(invoice.shipment.shipped_at)
    for product_id, batch_number in batches:
        since = view.first_received(invoice.seller, product_id, batch_number)
        if since is None:
            continue
        received_on = policy.local_date(since)
        label = f"batch {batch_number} of {product_id}"
        for field, on in (("issue_date", invoice.issue_date), ("shipment.shipped_at", shipped_on)):
            if on < received_on:
                fail(
                    RuleId.TIME_ORDER,
                    field,
                    f"{field} {on} is before {invoice.seller} first received {label} on {received_on}: "
                    "a distributor sells only what it has bought and received",
                )


def _line_field(invoice: Invoice, product_id: str, batch_number: str) -> str:
    for i, line in enumerate(invoice.lines):
        if (line.product_id, line.batch_number) == (product_id, batch_number):
            return f"lines[{i}].quantity"
    return "lines"


def _describe(totals: dict[tuple[str, str], int]) -> str:
    return ", ".join(f"{p}/{b}×{q}" for (p, b), q in sorted(totals.items())) or "nothing"


def _check_shipment(
    invoice: Invoice, policy: TwoInvoicePolicy, batches: dict[tuple[str, str], tuple[Product, Batch]]
) -> None:
    invoiced, shipped = quantities(invoice.lines), quantities(invoice.shipment.lines)
    if invoiced != shipped:
        fail(
            RuleId.INVOICE_GOODS_RECEIPT,
            "shipment.lines",
            f"the invoice lists {_describe(invoiced)} but the shipment carries {_describe(shipped)}",
        )
    shipped_on = policy.local_date(invoice.shipment.shipped_at)
    gap = abs((shipped_on - invoice.issue_date).days)
    if gap > policy.max_invoice_shipment_days:
        fail(
            RuleId.TIME_ORDER,
            "shipment.shipped_at",
            f"shipped on {shipped_on}, {gap} days from the invoice date {invoice.issue_date}; "
            f"invoice and goods must travel together (at most {policy.max_invoice_shipment_days} days apart)",
        )
    for j, line in enumerate(invoice.shipment.lines):
        product, batch = batches[(line.product_id, line.batch_number)]
        if shipped_on < batch.production_date:
            fail(
                RuleId.TIME_ORDER,
                "shipment.shipped_at",
                f"shipped on {shipped_on}, before batch {batch.key} was produced on {batch.production_date}",
            )
        check_codes(product, batch, line, f"shipment.lines[{j}]")
