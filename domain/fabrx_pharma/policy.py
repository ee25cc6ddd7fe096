"""The configuration of the two-invoice rules a province applies, and its versions over time.

A province changes its policy now and then (a one-invoice pilot, a new tolerance). Every change is kept
as a :class:`PolicyVersion` in force from the moment it was written, and a record is judged by the
version in force when it was written (:meth:`PolicyHistory.in_force`): switching to one-invoice mode
does not make the lawful two-invoice records written before it violations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

__all__ = [
    "CHINA_STANDARD_TIME",
    "DEFAULT_POLICY",
    "FROM_THE_START",
    "PolicyHistory",
    "PolicyVersion",
    "TwoInvoicePolicy",
    "as_history",
    "policy_from_json",
    "policy_to_json",
]

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, kw_only=True)
class TwoInvoicePolicy:
    """Which invoice chains are allowed, and the tolerances of the time-order checks.

    The default is the national two-invoice system (两票制) with both of its exemptions enabled.
    """

    one_invoice_mode: bool = False
    """一票制: the manufacturer invoices the hospital directly; every other invoice is refused."""
    allow_group_transfer: bool = True
    """Allow one extra invoice to the seller's wholly-owned or controlled subsidiary distributor."""
    allow_remote_delivery: bool = True
    """Allow one extra invoice to a distributor serving remote township or village facilities."""
    max_invoice_shipment_days: int = 7
    """How many days an invoice's issue date and its shipment date may lie apart (票货同行)."""
    timezone: tzinfo = field(default=CHINA_STANDARD_TIME)
    """Where calendar dates are read: a timestamp's date is compared with issue, production and expiry
    dates in this zone, so a shipment at 07:00 Beijing time is not 'the day before' in UTC."""

    def local_date(self, moment: datetime) -> date:
        """Return the calendar date of ``moment`` in the policy's time zone."""
        return moment.astimezone(self.timezone).date()


DEFAULT_POLICY = TwoInvoicePolicy()


def policy_to_json(policy: TwoInvoicePolicy) -> bytes:
    """The policy as JSON, as the chaincode stores and takes it: the time zone as a fixed UTC offset in
    minutes (compact, sorted keys)."""
    offset = policy.timezone.utcoffset(None) or timedelta(0)
    return json.dumps(
        {
            "one_invoice_mode": policy.one_invoice_mode,
            "allow_group_transfer": policy.allow_group_transfer,
            "allow_remote_delivery": policy.allow_remote_delivery,
            "max_invoice_shipment_days": policy.max_invoice_shipment_days,
            "utc_offset_minutes": offset // timedelta(minutes=1),
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")


def policy_from_json(data: bytes | str) -> TwoInvoicePolicy:
    """Read a policy from JSON; absent fields keep their defaults.

    Raises ``ValueError`` naming the field for unknown fields or values of the wrong type.
    """
    raw = json.loads(data)
    if not isinstance(raw, dict):
        raise ValueError("policy: must be a JSON object")
    flags = ("one_invoice_mode", "allow_group_transfer", "allow_remote_delivery")
    known = {*flags, "max_invoice_shipment_days", "utc_offset_minutes"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown policy field; expected one of {', '.join(sorted(known))}")
    values: dict[str, object] = {}
    for name in flags:
        if name in raw:
            if not isinstance(raw[name], bool):
                raise ValueError(f"{name}: must be true or false")
            values[name] = raw[name]
    for name, low, high in (("max_invoice_shipment_days", 0, 366), ("utc_offset_minutes", -1439, 1439)):
        if name in raw:
            value = raw[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name}: must be a whole number from {low} to {high}")
    if "max_invoice_shipment_days" in raw:
        values["max_invoice_shipment_days"] = raw["max_invoice_shipment_days"]
    if "utc_offset_minutes" in raw:
        values["timezone"] = timezone(timedelta(minutes=raw["utc_offset_minutes"]))
    return TwoInvoicePolicy(**values)  # type: ignore[arg-type]


FROM_THE_START = datetime(1970, 1, 1, tzinfo=UTC)
"""The ``effective_from`` of a policy in force from the start of the ledger (set at bootstrap, or written
before policies were versioned)."""


@dataclass(frozen=True)
class PolicyVersion:
    """One policy as the regulator set it, and the moment from which it is in force."""

    effective_from: datetime
    """Time-zone aware: the transaction time of the change that set it (:data:`FROM_THE_START` for the
    policy in force from the beginning)."""
    policy: TwoInvoicePolicy
    transaction_id: str = ""
    """The transaction that set it (``""`` when not known, e.g. the default before any was set)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "effective_from": self.effective_from.isoformat(),
            "policy": json.loads(policy_to_json(self.policy)),
            "transaction_id": self.transaction_id,
        }

    @classmethod
    def from_dict(cls, raw: object) -> PolicyVersion:
        """Raises ``ValueError`` naming the field of a malformed version."""
        if not isinstance(raw, dict):
            raise ValueError("policy version: must be a JSON object")
        unknown = sorted(set(raw) - {"effective_from", "policy", "transaction_id"})
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown policy version field")
        moment = raw.get("effective_from")
        try:
            effective_from = datetime.fromisoformat(moment) if isinstance(moment, str) else None
        except ValueError:
            effective_from = None
        if effective_from is None or effective_from.tzinfo is None:
            raise ValueError("effective_from: must be an ISO 8601 time with a UTC offset")
        transaction_id = raw.get("transaction_id", "")
        if not isinstance(transaction_id, str):
            raise ValueError("transaction_id: must be a string")
        return cls(effective_from, policy_from_json(json.dumps(raw.get("policy"))), transaction_id)


@dataclass(frozen=True)
class PolicyHistory:
    """Every policy that was in force, oldest first, each from the moment it was set.

    A change is in force from its transaction time on, never before: a record is judged by the policy
    its writer was checked against. Versions are kept in the order they were written, with
    non-decreasing ``effective_from``; a moment before the first version is governed by the first.
    """

    versions: tuple[PolicyVersion, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise ValueError("a policy history has at least one version")
        for earlier, later in zip(self.versions, self.versions[1:], strict=False):
            if later.effective_from < earlier.effective_from:
                raise ValueError(
                    f"effective_from: {later.effective_from.isoformat()} is before the version in force "
                    f"from {earlier.effective_from.isoformat()}"
                )

    @classmethod
    def single(cls, policy: TwoInvoicePolicy = DEFAULT_POLICY, transaction_id: str = "") -> PolicyHistory:
        """One policy in force from the start."""
        return cls((PolicyVersion(FROM_THE_START, policy, transaction_id),))

    @property
    def latest(self) -> TwoInvoicePolicy:
        """The policy set last: in force now and for every later write until the next change."""
        return self.versions[-1].policy

    def in_force(self, moment: datetime | None) -> TwoInvoicePolicy:
        """The policy in force at ``moment`` (time-zone aware); the latest for ``None``.

        Of several versions from the same moment, the last written wins.
        """
        if moment is None:
            return self.latest
        chosen = self.versions[0]
        for version in self.versions[1:]:
            if version.effective_from > moment:
                break
            chosen = version
        return chosen.policy

    def changed(
        self, policy: TwoInvoicePolicy, effective_from: datetime, transaction_id: str
    ) -> PolicyHistory:
        """This history with ``policy`` in force from ``effective_from`` on.

        Raises ``ValueError`` if ``effective_from`` is before the latest version's: a change never
        reaches back over records already judged.
        """
        return PolicyHistory((*self.versions, PolicyVersion(effective_from, policy, transaction_id)))

    def to_json(self) -> bytes:
        """The versions as a JSON list (compact, sorted keys), as the chaincode stores them."""
        return json.dumps(
            [version.to_dict() for version in self.versions], sort_keys=True, separators=(",", ":")
        ).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str) -> PolicyHistory:
        """Read versions written by :meth:`to_json`. Raises ``ValueError`` naming what is wrong."""
        raw = json.loads(data)
        if not isinstance(raw, list):
            raise ValueError("policy versions: must be a JSON list")
        return cls(tuple(_version_at(index, entry) for index, entry in enumerate(raw)))


def _version_at(index: int, raw: object) -> PolicyVersion:
    try:
        return PolicyVersion.from_dict(raw)
    except ValueError as exc:
        raise ValueError(f"[{index}].{exc}") from None


def as_history(policy: TwoInvoicePolicy | PolicyHistory | Sequence[PolicyVersion]) -> PolicyHistory:
    """A single policy as a history in force from the start; a history as it is."""
    if isinstance(policy, TwoInvoicePolicy):
        return PolicyHistory.single(policy)
    if isinstance(policy, PolicyHistory):
        return policy
    return PolicyHistory(tuple(policy))
