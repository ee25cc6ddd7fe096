"""The pharmacist's receipt: the goods of an invoice's shipment as counted in, made into a ``Receipt``.

The portal shows the shipment's lines with the shipped quantity filled in; the pharmacist corrects the
count of each line and records it. A line counted whole keeps the shipment's traceability codes (every
package arrived); a line counted short carries none, since a count does not say which packages are
missing; a line counted 0 is left out. The chaincode then checks the receipt against the invoice like
any other (receiver, batches, quantities), and the verification page reports a short receipt as a
receipt that does not match.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fabrx_pharma import GoodsLine, Invoice, Receipt
from fabrx_pharma.policy import CHINA_STANDARD_TIME

__all__ = ["default_receipt_id", "receipt_from_count", "received_at_of"]


def default_receipt_id(number: str) -> str:
    """The receipt id the form proposes for an invoice: ``RCV-<invoice number>``."""
    return f"RCV-{number}"


def received_at_of(text: str, now: datetime) -> datetime:
    """When the goods arrived, as the form's ``received_at`` gives it (``2024-04-01T10:30``, China
    Standard Time unless an offset is written); ``now`` when left empty.

    Raises:
        ValueError: not a date and time.
    """
    text = text.strip()
    if not text:
        return now
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"received_at: {text[:40]!r} is not a date and time (2024-04-01T10:30)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA_STANDARD_TIME)


def receipt_from_count(
    invoice: Invoice, receiver: str, receipt_id: str, counted: Sequence[str], *, received_at: datetime
) -> Receipt:
    """The receipt of ``invoice`` by ``receiver`` at ``received_at`` with ``counted[i]`` packages of
    shipment line ``i`` (text, as the form sends it).

    Raises:
        ValueError: a count is not a whole number from 0 to the shipped quantity (the message names the
            line by its product and batch), or nothing was counted at all.
        fabrx_pharma.RecordError: the receipt is not a valid record (e.g. a malformed receipt id).
    """
    shipped = invoice.shipment.lines
    if len(counted) != len(shipped):
        raise ValueError(f"the form counts {len(counted)} lines, the shipment has {len(shipped)}")
    lines: list[dict[str, object]] = []
    for line, text in zip(shipped, counted, strict=True):
        where = f"{line.product_id}/{line.batch_number}"
        try:
            quantity = int(text.strip())
        except ValueError:
            raise ValueError(f"{where}: {text.strip()[:20]!r} is not a whole number of packages") from None
        if not 0 <= quantity <= line.quantity:
            raise ValueError(f"{where}: {quantity} packages counted, {line.quantity} shipped")
        if quantity:
            codes = line.trace_codes if quantity == line.quantity else ()
            lines.append(GoodsLine(line.product_id, line.batch_number, quantity, codes).to_dict())
    if not lines:
        raise ValueError("no packages counted: record a receipt once goods arrived")
    return Receipt.from_dict(
        {
            "receipt_id": receipt_id,
            "invoice_number": str(invoice.number),
            "receiver": receiver,
            "received_at": received_at.isoformat(),
            "lines": lines,
        }
    )
