"""fabrx_pharma_chaincode: the two-invoice supervision chaincode's logic.

Written against a narrow :class:`StateStore` (what a chaincode stub offers), so the same code runs on a
peer through :mod:`fabrx_pharma_chaincode.contract` and in unit tests over
:mod:`fabrx_pharma_chaincode.testing`. The rules themselves are ``fabrx_pharma``'s; this package decides
where records live (public anchors, copies in the implicit collections of their author's host and the
regulator), who may read them, and how a transaction is refused.

- :mod:`~fabrx_pharma_chaincode.store`: the :class:`StateStore` protocol and composite keys.
- where copies go and who endorses: :mod:`fabrx_pharma.privacy` (re-exported).
- :mod:`~fabrx_pharma_chaincode.layout`: keys and public anchors (the policy's JSON form is
  :mod:`fabrx_pharma.policy`'s, shared with the SDK).
- :mod:`~fabrx_pharma_chaincode.ledger`: :class:`ChaincodeLedger`, the rules' ``LedgerView``.
- :mod:`~fabrx_pharma_chaincode.service`: :class:`PharmaService`, one method per transaction.
- :mod:`~fabrx_pharma_chaincode.verification`: the hospital's invoice verification.
- :mod:`~fabrx_pharma_chaincode.supervision`: the regulator's report, traces and recall scope.
- :mod:`~fabrx_pharma_chaincode.encoding`: JSON for results.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _distribution_version

try:
    __version__ = _distribution_version("fabrx-pharma")
except _PackageNotFoundError:  # the development install: one distribution, fabrx, holds every package
    __version__ = _distribution_version("fabrx")

from fabrx_pharma.privacy import (
    chaincode_endorsement_policy,
    copy_collections,
    endorsing_organizations,
    implicit_collection,
)

from .encoding import encode, to_jsonable
from .errors import (
    AccessDenied,
    ChaincodeError,
    ConfigurationError,
    NotFound,
    RecordRefused,
    RuleRefused,
)
from .layout import Anchor
from .ledger import PARTY_ATTRIBUTE, ChaincodeLedger, SealedRecord
from .service import (
    DEFAULT_REGULATORS,
    INVOICE_TRANSIENT_KEY,
    RECORD_TRANSIENT_KEY,
    ROLE_ATTRIBUTE,
    PharmaService,
    TraceCodeStatus,
)
from .store import CollectionGone, NotHeldHere, StateStore, composite_key
from .verification import (
    CopyCheck,
    Discrepancy,
    InvoiceVerification,
    VerificationRequest,
    requests_from_json,
)

__all__ = [
    "DEFAULT_REGULATORS",
    "INVOICE_TRANSIENT_KEY",
    "PARTY_ATTRIBUTE",
    "RECORD_TRANSIENT_KEY",
    "ROLE_ATTRIBUTE",
    "AccessDenied",
    "Anchor",
    "ChaincodeError",
    "ChaincodeLedger",
    "CollectionGone",
    "ConfigurationError",
    "CopyCheck",
    "Discrepancy",
    "InvoiceVerification",
    "NotFound",
    "NotHeldHere",
    "PharmaService",
    "RecordRefused",
    "RuleRefused",
    "SealedRecord",
    "StateStore",
    "TraceCodeStatus",
    "VerificationRequest",
    "chaincode_endorsement_policy",
    "composite_key",
    "copy_collections",
    "encode",
    "endorsing_organizations",
    "implicit_collection",
    "requests_from_json",
    "to_jsonable",
]
