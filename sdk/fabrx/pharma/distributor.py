"""The distributor's facade (医药供应商/配送企业): receipts of purchases, second and transfer invoices."""

from __future__ import annotations

from fabrx_pharma import Invoice, InvoiceKind, Receipt

from ._base import PharmaClient, checked, must_be
from ._errors import PharmaError, RecordNotFound
from ._results import Anchor

__all__ = ["Distributor"]


class Distributor(PharmaClient):
    """A distributor's client: what its ERP adapter pushes, and the reads it needs to stay idempotent."""

    def record_receipt(self, receipt: Receipt) -> Anchor:
        """Record the inbound receipt (入库) of a purchase invoice addressed to this distributor.

        The invoice travels with the receipt (read first, from the regulator's peer while this node
        keeps no copy of it): from then on this distributor's own node keeps the invoice too.
        """
        checked(receipt)
        must_be(receipt.receiver, self.party_id, "receiver", "the receipt's receiver")
        return self._write_receipt(receipt)

    def issue_invoice(self, invoice: Invoice) -> Anchor:
        """Issue a second invoice (to a hospital) or a transfer invoice (to another distributor, under an
        exemption), with its outbound shipment (出库)."""
        checked(invoice)
        must_be(invoice.seller, self.party_id, "seller", "the invoice's seller")
        if invoice.kind not in (InvoiceKind.SECOND, InvoiceKind.TRANSFER):
            raise PharmaError(
                "CHAIN_LENGTH",
                "kind",
                f"a distributor issues second or transfer invoices, not {invoice.kind.value} ones",
            )
        return self._write_private("issue_invoice", invoice)

    def is_on_ledger(self, record_type: str, key: str) -> bool:
        """Whether a record's anchor exists (``("invoice", number)``, ``("receipt", invoice number)``):
        the check an adapter makes before re-sending after a crash."""
        try:
            self.read_anchor(record_type, key)
        except RecordNotFound:
            return False
        return True
