"""fabrx_pharma_service: one member organization's signed HTTP service over the pharma ledger.

ERPs and hospital systems written in any language call it with JSON and RFC 9421 signed requests;
the service acts through the member's own Fabric identities (keys stay with the member) via the
``fabrx.pharma`` facades::

    member = GatewayMember("HospitalAMSP", endpoint, msp_users("HospitalAMSP", users_dir))
    files = ServiceFiles(state_dir)
    app = create_app(member, ApplicationRegistry(files.applications), ServiceState(files.state),
                     AuditLog(files.audit))
    run(app, host="127.0.0.1", port=8443, tls=self_signed_tls(files.tls))

``fabrx serve`` does the same from the consortium's run directory; docs/service.md describes the
endpoints, the signature scheme, errors, idempotency and the audit log.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _distribution_version

try:
    __version__ = _distribution_version("fabrx-pharma")
except _PackageNotFoundError:  # the development install: one distribution, fabrx, holds every package
    __version__ = _distribution_version("fabrx")

from .app import API_VERSION, ServiceLimits, create_app, openapi_document, service_error, service_openapi
from .applications import ALGORITHMS, Application, ApplicationRegistry, CredentialError
from .audit import AuditEntry, AuditLog
from .errors import (
    Conflict,
    Forbidden,
    MalformedRequest,
    NetworkFailed,
    NetworkUnavailable,
    NotFound,
    PayloadTooLarge,
    Refused,
    ServiceError,
    Unauthenticated,
)
from .members import GatewayMember, Member, TransactionStatus, msp_users, wallet_identities
from .server import BackgroundServer, ServiceFiles, TlsFiles, run, self_signed_tls
from .signatures import RequestVerifier, VerifiedRequest, sign_request
from .state import ServiceState

__all__ = [
    "ALGORITHMS",
    "API_VERSION",
    "Application",
    "ApplicationRegistry",
    "AuditEntry",
    "AuditLog",
    "BackgroundServer",
    "Conflict",
    "CredentialError",
    "Forbidden",
    "GatewayMember",
    "MalformedRequest",
    "Member",
    "NetworkFailed",
    "NetworkUnavailable",
    "NotFound",
    "PayloadTooLarge",
    "Refused",
    "RequestVerifier",
    "ServiceError",
    "ServiceFiles",
    "ServiceLimits",
    "ServiceState",
    "TlsFiles",
    "TransactionStatus",
    "Unauthenticated",
    "VerifiedRequest",
    "create_app",
    "msp_users",
    "openapi_document",
    "run",
    "self_signed_tls",
    "service_error",
    "service_openapi",
    "sign_request",
    "wallet_identities",
]
