"""The configuration of the two-invoice rules a province applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo

__all__ = ["CHINA_STANDARD_TIME", "DEFAULT_POLICY", "TwoInvoicePolicy"]

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
