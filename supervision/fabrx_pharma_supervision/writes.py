"""What the store is fed: ledger writes with their metadata, grouped in blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fabrx_pharma import AnyRecord, TwoInvoicePolicy

from .errors import WriteInvalid

__all__ = ["LedgerBlock", "LedgerWrite"]


@dataclass(frozen=True)
class LedgerWrite:
    """One record written by a valid transaction, with what the ledger says about that write.

    ``record`` is a ``fabrx_pharma`` record or a ``TwoInvoicePolicy`` (the regulator's policy write).
    ``order`` is the anchor's logical clock (see ``fabrx_pharma_chaincode.layout``).
    """

    record: AnyRecord | TwoInvoicePolicy
    submitter: str
    transaction_id: str
    timestamp: datetime
    order: int

    def __post_init__(self) -> None:
        if not self.submitter:
            raise WriteInvalid("submitter", "must name the MSP id (or party id) that submitted the write")
        if not self.transaction_id or len(self.transaction_id) > 128:
            raise WriteInvalid("transaction_id", "must be 1 to 128 characters")
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset() is None:
            raise WriteInvalid("timestamp", "must be an aware datetime (with a UTC offset)")
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 0:
            raise WriteInvalid("order", "must be a non-negative whole number")


@dataclass(frozen=True)
class LedgerBlock:
    """The writes of one block, in the order its valid transactions committed them.

    A block without pharma writes (a config block, a block of other chaincodes) is applied all the same,
    so the checkpoint follows the chain.
    """

    number: int
    writes: tuple[LedgerWrite, ...] = field(default=())

    def __post_init__(self) -> None:
        if isinstance(self.number, bool) or not isinstance(self.number, int) or self.number < 0:
            raise WriteInvalid("number", "a block number is a non-negative whole number")
        for i, write in enumerate(self.writes):
            if not isinstance(write, LedgerWrite):
                raise WriteInvalid(f"writes[{i}]", f"must be a LedgerWrite, got {type(write).__name__}")
