"""The hospital's invoice verification (验票), evaluated on the hospital's own peer.

For one invoice addressed to the submitter it answers three questions:

1. Is the invoice genuine? Its private copy (the hospital's own from its receipt on, else the copy on the
   peer answering: the seller's or the regulator's), the hash on its public anchor and the private data
   hashes Fabric keeps in the public state for every copy all agree.
2. Does it match what arrived (票货同行)? The hospital's recorded receipt lists the same products,
   batches, quantities and traceability codes as the invoice and its shipment.
3. Is each copy of a first invoice the distributor handed over the one on the ledger? The copy's
   canonical hash must equal the anchor hash and Fabric's private data hash of that invoice. Both are
   public, so the hospital never reads the manufacturer–distributor trade itself. Together the genuine
   copies must show the seller buying every batch it sells (on a first invoice, or a transfer invoice
   preceded by one).

Nothing is written. Discrepancies carry a rule code and a field, like refusals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from fabrx_pharma import Invoice, InvoiceKind, Receipt, RecordError, RuleId, record_hash
from fabrx_pharma.records import quantities
from fabrx_pharma.verification import CopyCheck, Discrepancy, InvoiceVerification

from .errors import AccessDenied, RecordRefused
from .layout import Anchor
from .ledger import ChaincodeLedger, SealedRecord

__all__ = [
    "HASH_MISMATCH",
    "CopyCheck",
    "Discrepancy",
    "InvoiceVerification",
    "VerificationRequest",
    "requests_from_json",
    "verify_invoice",
]

HASH_MISMATCH = "HASH_MISMATCH"
"""The code of a record whose content differs from the hash the ledger holds for it."""
_MAX_CHAIN = 3
T = TypeVar("T", Invoice, Receipt)


@dataclass(frozen=True)
class VerificationRequest:
    """One invoice to verify, with the first-invoice copies its seller handed over (JSON each)."""

    number: str
    first_invoice_copies: tuple[bytes | str, ...] = ()


def requests_from_json(data: bytes | str) -> list[VerificationRequest]:
    """Read ``[{"number": "...", "first_invoices": [{...invoice...}, ...]}, ...]``.

    Raises :class:`~fabrx_pharma_chaincode.errors.RecordRefused` naming the malformed entry.
    """
    try:
        raw = json.loads(data)
    except RecursionError:
        raise RecordRefused("verification request", [("<requests>", "is nested too deeply")]) from None
    except ValueError as exc:
        raise RecordRefused("verification request", [("<requests>", f"is not JSON: {exc}")]) from None
    if not isinstance(raw, list):
        raise RecordRefused("verification request", [("<requests>", "must be a list of requests")])
    requests = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("number"), str):
            raise RecordRefused("verification request", [(f"[{i}].number", "each request needs a number")])
        copies = entry.get("first_invoices", [])
        if not isinstance(copies, list):
            raise RecordRefused("verification request", [(f"[{i}].first_invoices", "must be a list")])
        requests.append(
            VerificationRequest(
                entry["number"],
                tuple(json.dumps(c, ensure_ascii=False) if not isinstance(c, str) else c for c in copies),
            )
        )
    return requests


def _matches_ledger(ledger: ChaincodeLedger, anchor: Anchor, computed: str) -> bool:
    """Whether ``computed`` equals the anchor hash and Fabric's private data hash of every copy still on
    the channel, the copy in the collection of the attributed party's host included (which only that
    host's endorsement can write: see :meth:`ChaincodeLedger.genuine_copies`)."""
    if not anchor.collections or computed != anchor.hash:
        return False
    key = ledger.key_of(anchor)
    hashes = ledger.copy_hashes(ledger.genuine_copies(anchor), key)
    return hashes == {bytes.fromhex(computed)}


def _own_record(ledger: ChaincodeLedger, anchor: Anchor, cls: type[T]) -> T:
    try:
        return ledger.private_record(anchor, cls.from_json)
    except SealedRecord as sealed:
        if sealed.reason == "not held here":
            raise AccessDenied(
                "PRIVATE_DATA",
                "number",
                f"this peer keeps no copy of {sealed.record_type} {sealed.key}: verify on the regulator's "
                "peer or the seller's, or after recording the receipt",
            ) from None
        raise AccessDenied("PRIVATE_DATA", "number", f"{sealed}; retry once this peer has it") from None


def _check_receipt(ledger: ChaincodeLedger, invoice: Invoice, problems: list[Discrepancy]) -> bool | None:
    key = str(invoice.number)
    anchor = ledger.anchor("receipt", key)
    if anchor is None:
        problems.append(
            Discrepancy(RuleId.RECEIPT_MISSING.value, "receipt", f"no receipt of invoice {key} yet")
        )
        return None
    receipt = _own_record(ledger, anchor, Receipt)
    before = len(problems)
    if not _matches_ledger(ledger, anchor, record_hash(receipt)):
        problems.append(
            Discrepancy(HASH_MISMATCH, "receipt", "the receipt differs from its hash on the ledger")
        )
    invoiced, shipped, received = (
        quantities(invoice.lines),
        quantities(invoice.shipment.lines),
        quantities(receipt.lines),
    )
    for product_id, batch_number in sorted(set(invoiced) | set(shipped) | set(received)):
        batch_key = (product_id, batch_number)
        counts = (invoiced.get(batch_key, 0), shipped.get(batch_key, 0), received.get(batch_key, 0))
        if len(set(counts)) > 1:
            problems.append(
                Discrepancy(
                    RuleId.INVOICE_GOODS_RECEIPT.value,
                    "receipt.lines",
                    f"batch {product_id}/{batch_number}: invoiced {counts[0]}, shipped {counts[1]}, "
                    f"received {counts[2]}",
                )
            )
    received_codes = {code for line in receipt.lines for code in line.trace_codes}
    if received_codes != invoice.shipment.trace_codes:
        missing = len(invoice.shipment.trace_codes - received_codes)
        extra = len(received_codes - invoice.shipment.trace_codes)
        problems.append(
            Discrepancy(
                RuleId.INVOICE_GOODS_RECEIPT.value,
                "receipt.lines.trace_codes",
                f"{missing} shipped traceability code(s) not received, {extra} received but not shipped",
            )
        )
    return len(problems) == before


def _check_copies(
    ledger: ChaincodeLedger, copies: Sequence[bytes | str], problems: list[Discrepancy]
) -> tuple[list[CopyCheck], list[Invoice]]:
    checks: list[CopyCheck] = []
    genuine: list[Invoice] = []
    for i, raw in enumerate(copies):
        field = f"first_invoices[{i}]"
        try:
            copy = Invoice.from_json(raw)
        except RecordError as exc:
            problems.append(Discrepancy("RECORD", field, str(exc)))
            checks.append(CopyCheck(i, None, False))
            continue
        number = str(copy.number)
        anchor = ledger.anchor("invoice", number)
        if anchor is None:
            problems.append(
                Discrepancy(RuleId.UNKNOWN_INVOICE.value, field, f"invoice {number} is not on the ledger")
            )
            checks.append(CopyCheck(i, number, False))
            continue
        ok = _matches_ledger(ledger, anchor, record_hash(copy))
        if not ok:
            problems.append(
                Discrepancy(
                    HASH_MISMATCH, field, f"the copy differs from invoice {number} as recorded on the ledger"
                )
            )
        elif copy.kind not in (InvoiceKind.FIRST, InvoiceKind.TRANSFER):
            problems.append(
                Discrepancy(
                    RuleId.CHAIN_LENGTH.value, field, f"invoice {number} is a {copy.kind.value} invoice"
                )
            )
        else:
            genuine.append(copy)
        checks.append(CopyCheck(i, number, ok))
    return checks, genuine


def _supplied(holder: str, batch_key: tuple[str, str], copies: list[Invoice], depth: int = 0) -> bool:
    """Whether the genuine copies show ``holder`` buying the batch on a chain from a first invoice."""
    for copy in copies:
        if copy.buyer != holder or batch_key not in quantities(copy.lines):
            continue
        if copy.kind is InvoiceKind.FIRST:
            return True
        if depth + 1 < _MAX_CHAIN and _supplied(copy.seller, batch_key, copies, depth + 1):
            return True
    return False


def verify_invoice(
    ledger: ChaincodeLedger, anchor: Anchor, first_invoice_copies: Sequence[bytes | str]
) -> InvoiceVerification:
    """Verify the invoice behind ``anchor`` (the caller has checked the submitter may)."""
    invoice = _own_record(ledger, anchor, Invoice)
    problems: list[Discrepancy] = []
    genuine = _matches_ledger(ledger, anchor, record_hash(invoice))
    if not genuine:
        problems.append(
            Discrepancy(HASH_MISMATCH, "number", "the invoice differs from its hash on the ledger")
        )
    receipt_matches = _check_receipt(ledger, invoice, problems)
    checks, copies = _check_copies(ledger, first_invoice_copies, problems)
    if invoice.kind in (InvoiceKind.SECOND, InvoiceKind.TRANSFER):
        for i, line in enumerate(invoice.lines):
            if not _supplied(invoice.seller, (line.product_id, line.batch_number), copies):
                problems.append(
                    Discrepancy(
                        RuleId.BUYER_SELLER_MATCH.value,
                        f"lines[{i}].batch_number",
                        f"no genuine first-invoice copy shows {invoice.seller} buying batch "
                        f"{line.product_id}/{line.batch_number}",
                    )
                )
    return InvoiceVerification(
        number=str(invoice.number),
        kind=invoice.kind,
        seller=invoice.seller,
        buyer=invoice.buyer,
        genuine=genuine,
        receipt_matches=receipt_matches,
        first_invoices=tuple(checks),
        discrepancies=tuple(problems),
    )
