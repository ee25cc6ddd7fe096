"""fabrx_pharma_supervision: the regulator's supervision store, a relational projection of the ledger.

The ledger is the source of truth; the store is rebuilt from its blocks. Each write is applied once,
with its checkpoint in the same database transaction, and checked with ``fabrx_pharma``'s own rules as
it arrives; the whole-ledger findings (missing, late and short receipts, diversion) are SQL set
operations kept up to date as records arrive. Its answers equal the domain's ``compliance_report``,
``trace_prescription`` and ``recall_scope`` over the same writes.

- :class:`SupervisionStore`: open (SQLite file or PostgreSQL URL), migrate, apply blocks, re-evaluate,
  report, trace, recall scope.
- :class:`LedgerBlock`, :class:`LedgerWrite`: what the store is fed; :class:`LedgerFeed` feeds it from a
  member's own peer (blocks with private data, :func:`decode_block`).
- :class:`FindingFilter` and the store's query methods: findings by rule, party, product, region and
  period; purchases, sales, stock; one traceability code's chain; CSV exports.
- :mod:`~fabrx_pharma_supervision.province`: a synthetic province with known violations.
- :mod:`~fabrx_pharma_supervision.schema`: the tables; :mod:`~fabrx_pharma_supervision.migrate`: their
  versioned migrations.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _distribution_version

try:
    __version__ = _distribution_version("fabrx-pharma")
except _PackageNotFoundError:  # the development install: one distribution, fabrx, holds every package
    __version__ = _distribution_version("fabrx")

from .decode import DecodedBlock, MissingRecord, decode_block
from .errors import (
    BlockUndecodable,
    FeedOutOfOrder,
    NotFound,
    SchemaMismatch,
    StoreUnavailable,
    SupervisionError,
    WriteInvalid,
)
from .feed import FeedProgress, LedgerFeed
from .queries import CodeChain, FindingFilter, StoredFinding, TradeRow
from .store import DEFAULT_FEED, SupervisionStore, engine_url
from .writes import LedgerBlock, LedgerWrite

__all__ = [
    "DEFAULT_FEED",
    "BlockUndecodable",
    "CodeChain",
    "DecodedBlock",
    "FeedOutOfOrder",
    "FeedProgress",
    "FindingFilter",
    "LedgerBlock",
    "LedgerFeed",
    "LedgerWrite",
    "MissingRecord",
    "NotFound",
    "SchemaMismatch",
    "StoreUnavailable",
    "StoredFinding",
    "SupervisionError",
    "SupervisionStore",
    "TradeRow",
    "WriteInvalid",
    "decode_block",
    "engine_url",
]
