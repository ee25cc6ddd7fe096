"""fabrx_pharma_supervision: the regulator's supervision store, a relational projection of the ledger.

The ledger is the source of truth; the store is rebuilt from its blocks. Each write is applied once,
with its checkpoint in the same database transaction, and checked with ``fabrx_pharma``'s own rules as
it arrives; the whole-ledger findings (missing, late and short receipts, diversion) are SQL set
operations kept up to date as records arrive. Its answers equal the domain's ``compliance_report``,
``trace_prescription`` and ``recall_scope`` over the same writes.

- :class:`SupervisionStore`: open (SQLite file or PostgreSQL URL), migrate, apply blocks, re-evaluate,
  report, trace, recall scope.
- :class:`LedgerBlock`, :class:`LedgerWrite`: what the store is fed.
- :mod:`~fabrx_pharma_supervision.schema`: the tables; :mod:`~fabrx_pharma_supervision.migrate`: their
  versioned migrations.
"""

from .errors import (
    FeedOutOfOrder,
    NotFound,
    SchemaMismatch,
    StoreUnavailable,
    SupervisionError,
    WriteInvalid,
)
from .store import DEFAULT_FEED, SupervisionStore, engine_url
from .writes import LedgerBlock, LedgerWrite

__all__ = [
    "DEFAULT_FEED",
    "FeedOutOfOrder",
    "LedgerBlock",
    "LedgerWrite",
    "NotFound",
    "SchemaMismatch",
    "StoreUnavailable",
    "SupervisionError",
    "SupervisionStore",
    "WriteInvalid",
    "engine_url",
]
