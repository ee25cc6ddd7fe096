"""The regulator's facade (卫健委): registers parties, sets the policy, recalls, and supervises."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

from fabrx_pharma import Finding, Party, Recall, RecallScope, Trace, TwoInvoicePolicy, canonical_json
from fabrx_pharma.policy import policy_from_json, policy_to_json

from ._base import PharmaClient, checked, must_be
from ._errors import PharmaError
from ._results import (
    Anchor,
    Change,
    InvoiceVerification,
    parse_changes,
    parse_findings,
    parse_recall_scope,
    parse_traces,
)

__all__ = ["Regulator"]


class Regulator(PharmaClient):
    """The regulator's client. Its peer keeps a copy of every private record, so its queries see the
    whole ledger.

    Its writes are public (parties, policy, recalls) and need its own peer's endorsement only (the
    chaincode-level policy, :func:`fabrx_pharma.privacy.chaincode_endorsement_policy`).
    """

    def bootstrap(self, regulator: Party, policy: TwoInvoicePolicy | None = None) -> Anchor:
        """Register the regulator itself and the policy; once per channel.

        Raises ``PharmaError`` ``DUPLICATE_RECORD party_id`` if the chaincode is already bootstrapped
        (see :meth:`is_bootstrapped`).
        """
        party = checked(regulator)
        must_be(party.party_id, self.party_id, "party_id", "the regulator to bootstrap")
        args = [canonical_json(party).decode("utf-8")]
        if policy is not None:
            args.append(policy_to_json(policy).decode())
        return Anchor.from_json(self._submit("bootstrap", *args))

    def is_bootstrapped(self) -> bool:
        """Whether the regulator is registered on the channel."""
        try:
            self.read_party(self.party_id)
        except PharmaError as exc:
            if exc.rule == "NOT_FOUND":
                return False
            raise
        return True

    def set_policy(self, policy: TwoInvoicePolicy) -> TwoInvoicePolicy:
        """Set the policy, in force from this transaction's time on; records written before stay judged
        by the policy in force when they were written."""
        return policy_from_json(self._submit("set_policy", policy_to_json(policy).decode()))

    def policy_history(self) -> list[Change]:
        """Every change of the policy, newest first (``Change.policy``, in force from ``timestamp``)."""
        return parse_changes(self._evaluate("policy_history"))

    def party_history(self, party_id: str) -> list[Change]:
        """Every registration of a party, newest first: first registration, updates, activation changes
        (``Change.party``, ``Change.anchor``). Raises ``RecordNotFound`` for an unknown party."""
        return parse_changes(self._evaluate("party_history", party_id))

    def record_history(self, record_type: str, key: str, batch_number: str | None = None) -> list[Change]:
        """Every transaction that wrote a record's anchor, newest first (``Change.anchor``); the key as
        :meth:`read_anchor` takes it. Raises ``RecordNotFound`` for an unknown record."""
        args = (record_type, key) if batch_number is None else (record_type, key, batch_number)
        return parse_changes(self._evaluate("record_history", *args))

    def register_party(self, party: Party) -> Anchor:
        """Register (or update) a party with its role: a member organization (``host_msp_id`` its own MSP
        id) or a party hosted on a member's node (``host_msp_id`` that member's)."""
        return self._write_public("register_party", party)

    def set_party_active(self, party_id: str, active: bool) -> Anchor:
        """Make a party inactive (it left the consortium, or lost its licence) or active again.

        The party's registration is re-registered with ``active`` changed: an inactive party records
        nothing and nobody can invoice it (rule ``PARTY_INACTIVE``); its records stay on the ledger and
        verifiable. A member organization that leaves is also removed from the channel configuration
        (``fabrx channel update remove-org``), so its identities and peers lose the channel itself.

        Raises ``PharmaError`` ``NOT_FOUND`` for an unknown party, ``ROLE active`` for the regulator.
        """
        party = self.read_party(party_id)
        return self.register_party(dataclasses.replace(party, active=active))

    def recall_batch(self, recall: Recall) -> Anchor:
        return self._write_public("recall_batch", recall)

    def compliance_report(self, *, as_of: datetime | None = None) -> list[Finding]:
        """Every finding on the ledger with its reason: violations that got in, missing or late receipts,
        diversion. ``as_of`` (aware) decides which missing receipts are overdue."""
        return parse_findings(self._evaluate("compliance_report", *_moment(as_of)))

    def diversion_signals(self, *, as_of: datetime | None = None) -> list[Finding]:
        """The findings that signal diversion (串货), sales beyond stock or resale (回流药)."""
        return parse_findings(self._evaluate("diversion_signals", *_moment(as_of)))

    def trace(
        self, *, prescription_id: str | None = None, patient_pseudonym: str | None = None
    ) -> tuple[Trace, ...]:
        """Trace a prescription, or every prescription of a patient pseudonym, back to the batch, the
        manufacturer, its raw-material lots and the invoice chain. Give exactly one of the two."""
        if (prescription_id is None) == (patient_pseudonym is None):
            raise PharmaError(
                "RECORD", "prescription_id", "give exactly one of prescription_id and patient_pseudonym"
            )
        # The chaincode reads an empty prescription id as "not given".
        args = [prescription_id or ""] + ([patient_pseudonym] if patient_pseudonym else [])
        return parse_traces(self._evaluate("trace", *args))

    def recall_scope(self, product_id: str, batch_number: str) -> RecallScope:
        """Every distributor, hospital, invoice and prescription a batch reached."""
        return parse_recall_scope(self._evaluate("recall_scope", product_id, batch_number))

    def verify_invoices(self, numbers: list[str]) -> list[InvoiceVerification]:
        """Verify invoices as the regulator (no first-invoice copies: it reads them itself)."""
        requests = [{"number": number, "first_invoices": []} for number in numbers]
        data = self._evaluate("verify_invoices", transient={"requests": json.dumps(requests)})
        return [InvoiceVerification.from_dict(raw) for raw in json.loads(data)]


def _moment(as_of: datetime | None) -> list[str]:
    if as_of is None:
        return []
    if as_of.tzinfo is None:
        raise PharmaError("RECORD", "as_of", "give an aware datetime (with a UTC offset)")
    return [as_of.isoformat()]
