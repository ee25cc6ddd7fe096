"""The manufacturer's facade (生产企业): products, production batches, first (or direct) invoices."""

from __future__ import annotations

from fabrx_pharma import Batch, Invoice, InvoiceKind, Product, Recall

from ._base import PharmaClient, checked, must_be
from ._errors import PharmaError
from ._results import Anchor

__all__ = ["Manufacturer"]


class Manufacturer(PharmaClient):
    """A manufacturer's client (also used by a party counting as the manufacturer, e.g. its sales company).

    Attribution is checked before sending (``ROLE``): the chaincode attributes every record to the
    submitting party and would refuse the same way.
    """

    def register_product(self, product: Product) -> Anchor:
        """Register a product (public: approval number, GTIN, traceability-code prefix)."""
        return self._write_public("register_product", product)

    def record_batch(self, batch: Batch) -> Anchor:
        """Record a production batch. Public without its raw-material lots, which stay in the
        manufacturer's books (sent in the transient map)."""
        checked(batch)
        must_be(batch.manufacturer, self.party_id, "manufacturer", "the batch's manufacturer")
        return self._write_private("record_batch", batch)

    def issue_invoice(self, invoice: Invoice) -> Anchor:
        """Issue a first invoice (to a distributor) or, in one-invoice mode, a direct one (to a hospital).

        The invoice with its shipment is copied to the manufacturer's node and the regulator's (the
        buyer's node gets its copy with the receipt), readable by the two parties and the regulator
        only; the public anchor reserves the number.
        """
        checked(invoice)
        must_be(invoice.seller, self.party_id, "seller", "the invoice's seller")
        if invoice.kind not in (InvoiceKind.FIRST, InvoiceKind.DIRECT):
            raise PharmaError(
                "CHAIN_LENGTH",
                "kind",
                f"a manufacturer issues first or direct invoices, not {invoice.kind.value}",
            )
        return self._write_private("issue_invoice", invoice)

    def recall_batch(self, recall: Recall) -> Anchor:
        """Recall one of its own batches (public: everyone must stop selling and dispensing it)."""
        return self._write_public("recall_batch", recall)
