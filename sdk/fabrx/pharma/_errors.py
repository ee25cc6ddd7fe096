"""Pharma refusals as fabrx errors: which rule refused the record, and at which field.

The chaincode refuses with a message ``"<CODE> <field>: <message>"`` (``CONSERVATION lines[0].quantity:
...``). The Gateway reports it per peer in :attr:`fabrx.GatewayError.details`; :func:`refusal_from`
turns that into a :class:`PharmaError` so callers route on ``rule`` and ``field`` instead of parsing
text. The tree, grouped by what the caller can do::

    FabrxError
    └── PharmaError          rule (a fabrx_pharma.RuleId value, or RECORD / CONFIG ...) and field
        ├── RecordInvalid    the record is malformed (found before sending, or by the chaincode): fix it
        ├── AccessRefused    the organization may not read or do this (403; PRIVATE_DATA, ROLE on reads)
        └── RecordNotFound   nothing is stored under that key (404)
"""

from __future__ import annotations

import re

from fabrx_pharma import RecordError

from ..errors import FabrxError, GatewayError

__all__ = ["AccessRefused", "PharmaError", "RecordInvalid", "RecordNotFound", "refusal_from"]

_REFUSAL = re.compile(r"chaincode response (\d{3}), ([A-Z][A-Z_]*) (\S+?): ([^\n]*)")
_TRANSACTION_SUFFIX = re.compile(r" \[transaction [0-9a-f]+\]$")
_NOT_A_MEMBER = re.compile(r"access denied: channel \[([^\]]+)\] creator org unknown")
"""A peer's refusal of a proposal whose creator's MSP is not in the channel configuration it has."""


class PharmaError(FabrxError):
    """The pharma chaincode (or the facade, before sending) refused a request.

    ``rule`` is the code (``CONSERVATION``, ``INVOICE_REUSED``, ``RECORD``, ``PRIVATE_DATA`` ...),
    ``field`` the path of the offending field, ``message`` the reason, ``status`` the chaincode
    status (``None`` when refused before sending), ``transaction_id`` the refused transaction's id.
    """

    def __init__(
        self, rule: str, field: str, message: str, *, status: int | None = None, transaction_id: str = ""
    ) -> None:
        super().__init__(f"{rule} {field}: {message}")
        self.rule = rule
        self.field = field
        self.message = message
        self.status = status
        self.transaction_id = transaction_id


class RecordInvalid(PharmaError):
    """The record is malformed; ``problems`` lists ``(field, message)`` when checked client-side."""

    def __init__(
        self,
        field: str,
        message: str,
        *,
        problems: tuple[tuple[str, str], ...] = (),
        status: int | None = None,
        transaction_id: str = "",
    ) -> None:
        super().__init__("RECORD", field, message, status=status, transaction_id=transaction_id)
        self.problems = problems


class AccessRefused(PharmaError):
    """The organization may not read or do this (status 403)."""


class RecordNotFound(PharmaError):
    """Nothing is stored under the key asked for (status 404)."""


def invalid_record(error: RecordError) -> RecordInvalid:
    """A client-side :class:`~fabrx_pharma.RecordError` as :class:`RecordInvalid`, every problem kept."""
    problems = tuple((p.field, p.message) for p in error.problems)
    field = problems[0][0] if problems else "<record>"
    return RecordInvalid(field, str(error), problems=problems)


def refusal_from(error: GatewayError) -> PharmaError | None:
    """The chaincode refusal inside a Gateway error, or ``None`` if the error is not one (a peer down,
    a TLS failure): those stay :class:`~fabrx.GatewayError` for the caller to retry or fix.

    A peer's refusal of an organization that is not in the channel (it left) is :class:`AccessRefused`
    with rule ``ROLE`` and field ``submitter``.

    When endorsers disagree, the first peer's refusal wins; every peer's text stays in the cause.
    """
    texts = [detail.message for detail in error.details] or [str(error)]
    for text in texts:
        match = _REFUSAL.search(text)
        if match is None:
            continue
        status, rule, field = int(match[1]), match[2], match[3]
        message = _TRANSACTION_SUFFIX.sub("", match[4])
        cls: type[PharmaError] = PharmaError
        if status == 404:
            cls = RecordNotFound
        elif status == 403:
            cls = AccessRefused
        elif rule == "RECORD":
            return RecordInvalid(field, message, status=status, transaction_id=error.transaction_id)
        return cls(rule, field, message, status=status, transaction_id=error.transaction_id)
    for text in texts:
        match = _NOT_A_MEMBER.search(text)
        if match is not None:
            # Not worth retrying (the Gateway reports it as UNAVAILABLE): the organization is gone.
            return AccessRefused(
                "ROLE",
                "submitter",
                f"the submitting organization is not a member of channel {match[1]} (removed from the "
                f"channel configuration, or never added); the peer: {match[0]}",
                status=403,
                transaction_id=error.transaction_id,
            )
    return None
