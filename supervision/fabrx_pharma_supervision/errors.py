"""The errors of the supervision store.

Every error derives from :class:`SupervisionError`. Grouped by what the caller can do about them::

    SupervisionError
    ├── StoreUnavailable   the database cannot be reached or failed: retry, check the URL or the server
    ├── SchemaMismatch     the database is at another schema revision: run ``SupervisionStore.upgrade``
    ├── FeedOutOfOrder     a block would leave a gap after the checkpoint: feed the missing blocks first
    ├── WriteInvalid       a write's metadata is malformed: fix the caller (nothing was stored)
    ├── BlockUndecodable   a block, transaction, anchor or record on the ledger cannot be read
    └── NotFound           the record asked about is not in the store (also a ``KeyError``)

Database driver errors (SQLAlchemy's ``DBAPIError`` family) are translated to :class:`StoreUnavailable`
at one boundary, :meth:`SupervisionStore.transaction`, with the cause chained. A failed ``apply`` rolls
back everything it wrote, the checkpoint included.
"""

from __future__ import annotations

__all__ = [
    "BlockUndecodable",
    "FeedOutOfOrder",
    "NotFound",
    "SchemaMismatch",
    "StoreUnavailable",
    "SupervisionError",
    "WriteInvalid",
]


class SupervisionError(Exception):
    """Root of every error raised by ``fabrx_pharma_supervision``."""


class StoreUnavailable(SupervisionError):
    """The database refused a connection or a statement (the message names the database, never a
    password)."""


class SchemaMismatch(SupervisionError):
    """The database's schema revision is not the one this code reads and writes."""

    def __init__(self, found: str | None, expected: str) -> None:
        super().__init__(
            f"the store's schema is at revision {found or 'none (empty database)'}, this code needs "
            f"{expected}: run SupervisionStore.upgrade (fabrx-supervision upgrade)"
        )
        self.found = found
        self.expected = expected


class FeedOutOfOrder(SupervisionError):
    """A block was offered after a gap: the store applies blocks in order, with none missing."""

    def __init__(self, feed: str, checkpoint: int, block_number: int) -> None:
        super().__init__(
            f"feed {feed!r}: block {block_number} cannot follow block {checkpoint}; "
            f"apply block {checkpoint + 1} first"
        )
        self.feed = feed
        self.checkpoint = checkpoint
        self.block_number = block_number


class WriteInvalid(SupervisionError, ValueError):
    """A ledger write's metadata is malformed; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class BlockUndecodable(SupervisionError):
    """A block's bytes are not the Fabric block the decoder expects, or a pharma anchor or record on it
    is corrupt (the message names the block, the transaction and the part)."""


class NotFound(SupervisionError, KeyError):
    """The record asked about is not in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"
