"""The configuration of the two-invoice rules a province applies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo

__all__ = ["CHINA_STANDARD_TIME", "DEFAULT_POLICY", "TwoInvoicePolicy", "policy_from_json", "policy_to_json"]

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
