"""The errors a pharma transaction is refused with, and how domain errors become them.

Every refusal is a :class:`ChaincodeError` whose message starts with a stable code and the path of the
field at fault, so a client can route on it without parsing prose::

    CONSERVATION lines[0].quantity: DistributorAMSP has received 10 of batch A1 of AMOX ...
    RECORD lines[0].amount: invoice has 1 problem: lines[0].amount: is 1.00, but ...
    ROLE msp_id: only the regulator can read the compliance report; the submitter is HospitalAMSP

The tree, grouped by what the caller can do::

    ChaincodeError            (code, field, message)
    ├── RuleRefused          a two-invoice rule is broken: ``code`` is a ``fabrx_pharma.RuleId`` value
    ├── RecordRefused        the input is not a well-formed record: fix every field listed
    ├── AccessDenied         the submitter may not read or do this (code ``ROLE`` or ``PRIVATE_DATA``)
    ├── NotFound             nothing is stored under that key (code ``NOT_FOUND``)
    ├── ConfigurationError   the network or the ledger is not set up as the chaincode needs (``CONFIG``)
    └── BatchRefused         records of a many-record write were refused (``BATCH``): each with its
                             index, code and field; the transaction writes nothing

A transaction that raises writes nothing: the service runs every check before its first write, and
Fabric discards the write set of a failed invocation anyway.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from fabrx_pharma import RecordError, RuleId, RuleViolation

__all__ = [
    "REFUSED_MARKER",
    "WITHHELD",
    "AccessDenied",
    "BatchRefused",
    "ChaincodeError",
    "ConfigurationError",
    "NotFound",
    "RecordRefused",
    "RuleRefused",
    "refused_record",
    "refused_rule",
]


class ChaincodeError(Exception):
    """A transaction was refused; ``str()`` is ``"<code> <field>: <message>"``."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(f"{code} {field}: {message}")
        self.code = code
        self.field = field
        self.message = message


class RuleRefused(ChaincodeError):
    """A well-formed record breaks a two-invoice rule; ``rule`` is the :class:`~fabrx_pharma.RuleId`."""

    def __init__(self, rule: RuleId, field: str, message: str) -> None:
        super().__init__(rule.value, field, message)
        self.rule = rule


class RecordRefused(ChaincodeError):
    """The input could not be read as a record. ``problems`` lists ``(field, message)`` for every field."""

    def __init__(self, record_type: str, problems: list[tuple[str, str]]) -> None:
        listed = "; ".join(f"{field}: {message}" for field, message in problems)
        count = len(problems)
        super().__init__(
            "RECORD",
            problems[0][0] if problems else "<record>",
            f"{record_type} has {count} problem{'s' if count != 1 else ''}: {listed}",
        )
        self.record_type = record_type
        self.problems = tuple(problems)


class AccessDenied(ChaincodeError):
    """The submitter's organization may not do or read this."""


class NotFound(ChaincodeError):
    """Nothing is stored under the key asked for."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__("NOT_FOUND", field, message)


class ConfigurationError(ChaincodeError):
    """The channel lacks something the chaincode needs (a collection, a bootstrap), or an input cannot
    be mapped onto it (an MSP id that cannot name a collection)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__("CONFIG", field, message)


class BatchRefused(ChaincodeError):
    """Some records of a many-record write were refused; ``refusals`` holds ``(index, error)`` for each.

    Every record was checked (against the ledger and the accepted records before it), so the client can
    drop exactly these and send the rest again. The message ends with :data:`REFUSED_MARKER` and the
    refusals as JSON (``[{"index", "code", "field", "message"}]``), because a Fabric Gateway passes a
    failed endorsement's message to the client, not its payload.
    """

    def __init__(self, count: int, refusals: list[tuple[int, ChaincodeError]]) -> None:
        index, first = refusals[0]
        self.count = count
        self.refusals = tuple(refusals)
        listed = json.dumps(self.to_list(), ensure_ascii=False, separators=(",", ":"))
        super().__init__(
            "BATCH",
            f"records[{index}].{first.field}",
            f"{len(refusals)} of {count} records refused; {REFUSED_MARKER}{listed}",
        )

    def to_list(self) -> list[dict[str, object]]:
        """The refusals as ``[{"index", "code", "field", "message"}]``."""
        return [
            {"index": i, "code": e.code, "field": e.field, "message": e.message} for i, e in self.refusals
        ]


REFUSED_MARKER = "refused="
"""What precedes the JSON list of refusals in a :class:`BatchRefused` message."""


WITHHELD = "[withheld]"
"""What a refusal says instead of a private value of the refused record (its field names the place)."""


def refused_rule(violation: RuleViolation, private_values: Iterable[str] = ()) -> RuleRefused:
    """Translate a domain :class:`~fabrx_pharma.RuleViolation`.

    Each of ``private_values`` (the refused record's traceability codes and patient pseudonym) is
    replaced by :data:`WITHHELD` in the message: peers write every refusal's message to their logs,
    and the refusal's field already names the value's place in the record.
    """
    message = violation.message
    for value in private_values:
        if value:
            message = message.replace(value, WITHHELD)
    return RuleRefused(violation.rule, violation.field, message)


def refused_record(error: RecordError) -> RecordRefused:
    """Translate a domain :class:`~fabrx_pharma.RecordError`, keeping every problem."""
    return RecordRefused(error.record_type, [(p.field, p.message) for p in error.problems])
