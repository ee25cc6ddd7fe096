"""The hospital's facade (医疗机构): receipts, prescriptions, adverse events, and one-place verification."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from fabrx_pharma import AdverseEvent, Invoice, Prescription, Receipt

from ._base import PharmaClient, checked, must_be
from ._results import Anchor, InvoiceVerification

__all__ = ["Hospital"]


class Hospital(PharmaClient):
    """A hospital's client (统一医院端): verify any supplier's invoices in one call."""

    def record_receipt(self, receipt: Receipt) -> Anchor:
        """Record the receipt of a second (or direct) invoice's goods (票货同行).

        The invoice travels with the receipt (read first, from the regulator's peer while this node
        keeps no copy of it): from then on the hospital's own node keeps the invoice too.
        """
        checked(receipt)
        must_be(receipt.receiver, self.party_id, "receiver", "the receipt's receiver")
        return self._write_receipt(receipt)

    def record_prescription(self, prescription: Prescription) -> Anchor:
        """Record a prescription and its dispensing; patients only by pseudonym (in the hospital's books).

        A traceability code dispensed before, anywhere, is refused (``TRACE_CODE_REUSED``, 回流药)."""
        checked(prescription)
        must_be(prescription.hospital, self.party_id, "hospital", "the prescription's hospital")
        return self._write_private("record_prescription", prescription)

    def report_adverse_event(self, event: AdverseEvent) -> Anchor:
        """Report an adverse reaction to a drug this hospital dispensed."""
        checked(event)
        must_be(event.hospital, self.party_id, "hospital", "the report's hospital")
        return self._write_private("report_adverse_event", event)

    def verify_invoices(self, requests: Mapping[str, Sequence[Invoice]]) -> list[InvoiceVerification]:
        """Verify invoices of any suppliers in one call, evaluated on this hospital's own peer (on the
        regulator's when the own node keeps no copy of an invoice, i.e. before its receipt).

        ``requests`` maps each invoice number addressed to this hospital to the first-invoice copies its
        seller handed over. Per invoice: is it genuine, does it match what arrived (票货同行), is each
        copy the first invoice on the ledger (by hash: the hospital never reads that trade), and do the
        genuine copies show the seller buying every batch it sold. Copies travel in the transient map.

        Raises ``RecordNotFound`` for an unknown number, ``PharmaError`` ``ROLE`` for an invoice
        addressed to another party.
        """
        body = [
            {"number": number, "first_invoices": [copy.to_dict() for copy in copies]}
            for number, copies in requests.items()
        ]
        data = self._evaluate_private(
            "verify_invoices", transient={"requests": json.dumps(body, ensure_ascii=False)}
        )
        return [InvoiceVerification.from_dict(raw) for raw in json.loads(data)]

    def verify_invoice(self, number: str, first_invoices: Sequence[Invoice] = ()) -> InvoiceVerification:
        """:meth:`verify_invoices` for one invoice."""
        return self.verify_invoices({number: first_invoices})[0]
