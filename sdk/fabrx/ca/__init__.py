"""Fabric CA: register, enroll, reenroll and revoke identities over HTTPS.

::

    with CAClient("https://127.0.0.1:7054", tls_root_certs="ca/tls-cert.pem") as ca:
        admin = ca.enroll("admin", "adminpw")
        registrar, sign = Identity("Org1MSP", admin.certificate), admin.signer()
        secret = ca.register(registrar, sign, "peer0", type="peer")
        msp = ca.enroll("peer0", secret)
        tls = ca.enroll("peer0", secret, profile="tls", csr_hosts=["peer0.org1", "127.0.0.1"])

Registrar requests are authenticated with the token Fabric CA defines (see :mod:`fabrx.ca._token`);
enrollments with the enrollment secret. Private keys are generated locally and never sent.
"""

from ._client import REVOCATION_REASONS, CAClient
from ._errors import AlreadyRegisteredError
from ._models import (
    Attribute,
    AttributeRequest,
    CAInfo,
    Enrollment,
    ExternalEnrollment,
    Revocation,
    RevokedCertificate,
)

__all__ = [
    "REVOCATION_REASONS",
    "AlreadyRegisteredError",
    "Attribute",
    "AttributeRequest",
    "CAClient",
    "CAInfo",
    "Enrollment",
    "ExternalEnrollment",
    "Revocation",
    "RevokedCertificate",
]
