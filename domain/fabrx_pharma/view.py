"""What the rules need to read from the ledger: the :class:`LedgerView` protocol."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from .care import AdverseEvent, Prescription
from .parties import Party, Product
from .production import Batch
from .recalls import Recall
from .trade import Invoice, Receipt

if TYPE_CHECKING:
    from .stock import StockPosition

__all__ = ["LedgerView"]


class LedgerView(Protocol):
    """Read access to the committed ledger state, as the rules need it.

    The chaincode implements it over its stub (public state and the private data collections the
    endorsing peer holds), :class:`~fabrx_pharma.ledger.InMemoryLedger` over dictionaries. Like a
    chaincode read, a view does not see the writes of the transaction being checked. Every lookup
    returns ``None`` (or an empty position) for something never written; none raises.
    """

    def party(self, party_id: str) -> Party | None:
        """The party registered under ``party_id``."""
        ...

    def product(self, product_id: str) -> Product | None: ...

    def batch(self, product_id: str, batch_number: str) -> Batch | None: ...

    def invoice(self, number: str) -> Invoice | None:
        """The invoice with this canonical number text (``str(InvoiceNumber)``)."""
        ...

    def receipt_of(self, invoice_number: str) -> Receipt | None:
        """The receipt recorded for the goods of this invoice (one per invoice)."""
        ...

    def prescription(self, prescription_id: str) -> Prescription | None: ...

    def adverse_event(self, report_id: str) -> AdverseEvent | None: ...

    def recall(self, product_id: str, batch_number: str) -> Recall | None: ...

    def stock(self, holder: str, product_id: str, batch_number: str) -> StockPosition:
        """The stock counters of ``holder`` (a party id) for the batch; all zero if it never held any.

        ``purchased`` may be left 0: a view may count purchases apart (the chaincode answers from what
        the holder's node knows), and the rules ask :meth:`purchased` for them, only when a sale does
        not fit.
        """
        ...

    def purchased(self, holder: str, product_id: str, batch_number: str) -> int:
        """What ``holder`` (a party id) is known to have bought of the batch; the rules only ask whether
        it bought any.

        The in-memory ledger counts invoices addressed to it, received or not; the chaincode counts what
        it received, since the holder's node learns of a purchase with its receipt.
        """
        ...

    def dispensed_in(self, trace_code: str) -> str | None:
        """The id of the prescription that dispensed this (canonical) traceability code, if any."""
        ...

    def received_in(self, holder: str, trace_code: str) -> str | None:
        """The number of the invoice whose receipt by ``holder`` (a party id) brought in this (canonical)
        traceability code, if any (see :func:`fabrx_pharma.stock.received_codes`)."""
        ...

    def first_received(self, holder: str, product_id: str, batch_number: str) -> datetime | None:
        """When ``holder`` (a party id) first received goods of the batch on a recorded receipt (its
        ``received_at``); ``None`` if it never did."""
        ...
