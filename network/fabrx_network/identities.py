"""Crypto material of a consortium, issued by each organization's own Fabric CA.

For every organization (the orderer organization included) this module:

1. creates the CA's bootstrap password (mode 0600) and runs ``fabric-ca-server init``;
2. issues the CA server's own TLS identity, signed by the CA key, so its API and operations endpoint
   serve TLS from the first start;
3. after the CA runs, registers and enrolls every identity with the node OU it needs, an enrollment
   certificate and a TLS certificate each: the org admin (``admin``), peers (``peer``), orderers
   (``orderer``) and SDK clients (``client``, with their attributes, ``fabrx.role`` included);
4. lays out the MSP folders and TLS files that Fabric reads (see :mod:`fabrx_network.layout`).

Every step checks what exists first, so it can be re-run after an interruption. Registration secrets
are derived from the CA bootstrap password (HMAC per enrollment id), so a re-run that finds an identity
already registered simply enrolls it again; nothing secret is stored besides the bootstrap password.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import hmac
import ipaddress
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fabrx.ca import AlreadyRegisteredError, Attribute, CAClient, Enrollment
from fabrx.identity import Identity

from .config import ORG_ADMIN_USER, Consortium
from .errors import NetworkError
from .layout import MspFolder, RunLayout, TlsFiles
from .process import NODE_UMASK
from .render import CA_BOOTSTRAP_USER, NODE_OU_CONFIG, CaServer

__all__ = [
    "IdentityPlan",
    "add_local_crl",
    "bootstrap_password",
    "enroll_client",
    "enroll_identities",
    "init_ca",
    "issue_identity",
    "planned_identities",
]

Progress = Callable[[str], None]
_NODE_TYPES = ("peer", "orderer")


class IdentityIssueError(NetworkError):
    """A CA could not be initialised or an identity could not be issued."""


def bootstrap_password(layout: RunLayout, org: str) -> str:
    """The CA bootstrap admin password of ``org``, created (mode 0600) on first use."""
    path = layout.ca_bootstrap_secret(org)
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


def init_ca(ca: CaServer) -> None:
    """Run ``fabric-ca-server init`` once and issue the CA server's TLS identity (skipped when done)."""
    if not ca.ca_cert.exists():
        ca.process.cwd.mkdir(parents=True, exist_ok=True)
        env = {**ca.init_env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        try:
            # Owner-only files: the CA's keys and its config, which holds the bootstrap password.
            result = subprocess.run(
                list(ca.init_argv),
                env=env,
                cwd=ca.process.cwd,
                capture_output=True,
                text=True,
                check=False,
                umask=NODE_UMASK,
            )
        except OSError as exc:
            raise IdentityIssueError(
                f"{ca.process.name}: cannot run {ca.init_argv[0]}: {exc.strerror}. "
                "Fix: install Fabric CA with `fabrx fabric install` (make fabric)."
            ) from exc
        if result.returncode != 0 or not ca.ca_cert.exists():
            output = (result.stderr or result.stdout).strip().splitlines()
            tail = "\n".join([line for line in output if line.startswith("Error")] or output[-10:])
            raise IdentityIssueError(
                f"{ca.process.name}: `{' '.join(ca.redacted_init_argv)}` failed (exit {result.returncode}):\n"
                f"{tail}\nFix: remove {ca.process.cwd} to start this CA from scratch, then run up again."
            )
    if not (ca.tls.cert.exists() and ca.tls.key.exists()):
        _issue_ca_tls(ca)


def _issue_ca_tls(ca: CaServer) -> None:
    ca_cert = x509.load_pem_x509_certificate(ca.ca_cert.read_bytes())
    ca_key = _ca_private_key(ca.process.cwd, ca_cert)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    host = ca.url.split("://", 1)[1].rsplit(":", 1)[0]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"tls.{ca.ca_name}")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(_san(("localhost", host))), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write_tls(ca.tls, cert.public_bytes(serialization.Encoding.PEM), _pem(key), ca.ca_cert.read_bytes())


def _ca_private_key(home: Path, ca_cert: x509.Certificate) -> ec.EllipticCurvePrivateKey:
    wanted = ca_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for path in sorted((home / "msp" / "keystore").glob("*_sk")):
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if public == wanted and isinstance(key, ec.EllipticCurvePrivateKey):
            return key
    raise IdentityIssueError(f"no private key matching {home / 'ca-cert.pem'} in {home / 'msp' / 'keystore'}")


@dataclass(frozen=True)
class IdentityPlan:
    """One identity to issue: enrollment id, node OU type, attributes and where its files go."""

    org: str
    enrollment_id: str
    type: str
    msp: MspFolder
    tls: TlsFiles
    attributes: tuple[Attribute, ...] = ()

    @property
    def complete(self) -> bool:
        return all(
            p.exists() for p in (self.msp.signcert, self.tls.cert, self.tls.key, self.msp.config_yaml)
        ) and any(self.msp.keystore.glob("*"))


def planned_identities(consortium: Consortium, layout: RunLayout) -> Iterator[IdentityPlan]:
    """Every identity the consortium needs, per organization."""
    orderer_org = consortium.orderer_org.name
    yield _user(layout, orderer_org, ORG_ADMIN_USER, "admin")
    for orderer in consortium.orderer_org.orderers:
        yield IdentityPlan(
            orderer_org,
            f"{orderer.name}.{orderer_org}",
            "orderer",
            layout.orderer_msp(orderer_org, orderer.name),
            layout.orderer_tls(orderer_org, orderer.name),
        )
    for org in consortium.orgs:
        yield _user(layout, org.name, ORG_ADMIN_USER, "admin")
        for peer in org.peers:
            yield IdentityPlan(
                org.name,
                f"{peer.name}.{org.name}",
                "peer",
                layout.peer_msp(org.name, peer.name),
                layout.peer_tls(org.name, peer.name),
            )
        for client in org.clients:
            attributes = tuple(Attribute(k, v, ecert=True) for k, v in sorted(client.attrs.items()))
            yield _user(layout, org.name, client.name, "client", attributes)


def _user(
    layout: RunLayout, org: str, user: str, node_type: str, attributes: tuple[Attribute, ...] = ()
) -> IdentityPlan:
    return IdentityPlan(
        org, f"{user}.{org}", node_type, layout.user_msp(org, user), layout.user_tls(org, user), attributes
    )


def write_org_msp(layout: RunLayout, org: str) -> None:
    """The organization MSP of ``org`` that configtx.yaml refers to: CA and TLS CA certs, node OUs."""
    ca_pem = layout.ca_cert(org).read_bytes()
    msp = layout.org_msp(org)
    _write(msp.ca_cert, ca_pem)
    _write(msp.tls_ca_cert, ca_pem)
    _write(msp.config_yaml, NODE_OU_CONFIG.encode())


def enroll_identities(
    consortium: Consortium,
    layout: RunLayout,
    cas: Sequence[CaServer],
    progress: Progress,
) -> int:
    """Issue every missing identity of the consortium; return how many were issued.

    Organizations are handled in parallel (each has its own CA); identities of one organization in order.
    """
    by_org: dict[str, list[IdentityPlan]] = {}
    for plan in planned_identities(consortium, layout):
        by_org.setdefault(plan.org, []).append(plan)
    ca_by_org = {ca.org: ca for ca in cas}
    for org in by_org:
        write_org_msp(layout, org)

    def issue_org(org: str) -> int:
        missing = [plan for plan in by_org[org] if not plan.complete]
        if not missing:
            return 0
        ca = ca_by_org[org]
        password = bootstrap_password(layout, org)
        with CAClient(ca.url, tls_root_certs=ca.ca_cert.read_bytes(), ca_name=ca.ca_name) as client:
            registrar = client.enroll(CA_BOOTSTRAP_USER, password)
            for plan in missing:
                hosts = (plan.enrollment_id, "localhost", consortium.host) if plan.type in _NODE_TYPES else ()
                issue_identity(client, registrar, password, plan, hosts)
        return len(missing)

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(issue_org, by_org))
    issued = sum(counts)
    if issued:
        progress(f"issued {issued} identities from {len(by_org)} CAs")
    return issued


def enroll_client(
    layout: RunLayout, ca: CaServer, org: str, user: str, attributes: Mapping[str, str]
) -> MspFolder:
    """Register and enroll one more client identity of ``org`` at its CA, with these certificate
    attributes (e.g. a hosted party's user: ``fabrx.party`` and ``fabrx.role``); return its MSP folder.

    Idempotent for the same user: an identity already issued is left as it is. Raises
    :class:`~fabrx.ca.CAError` subclasses when the CA refuses.
    """
    attrs = tuple(Attribute(k, v, ecert=True) for k, v in sorted(attributes.items()))
    plan = _user(layout, org, user, "client", attrs)
    if plan.complete:
        return plan.msp
    password = bootstrap_password(layout, org)
    with CAClient(ca.url, tls_root_certs=ca.ca_cert.read_bytes(), ca_name=ca.ca_name) as client:
        registrar = client.enroll(CA_BOOTSTRAP_USER, password)
        issue_identity(client, registrar, password, plan, ())
    return plan.msp


def issue_identity(
    client: CAClient, registrar: Enrollment, password: str, plan: IdentityPlan, tls_hosts: Sequence[str]
) -> None:
    """Register (if needed) and enroll ``plan``: enrollment certificate into its MSP, TLS certificate."""
    secret = hmac.new(password.encode(), plan.enrollment_id.encode(), hashlib.sha256).hexdigest()[:32]
    registrar_identity = Identity(msp_id="", credentials=registrar.certificate)
    with contextlib.suppress(AlreadyRegisteredError):  # registered by an earlier run, same derived secret
        client.register(
            registrar_identity,
            registrar.signer(),
            plan.enrollment_id,
            secret=secret,
            type=plan.type,
            attributes=plan.attributes,
        )
    enrollment = client.enroll(plan.enrollment_id, secret)
    tls = client.enroll(plan.enrollment_id, secret, profile="tls", csr_hosts=tuple(tls_hosts))
    _write_msp(plan.msp, enrollment)
    _write_tls(plan.tls, tls.certificate, tls.private_key_pem, tls.ca_chain)


def add_local_crl(msp: MspFolder, crl: bytes) -> Path:
    """Put a CA's CRL (PEM) into a node's local MSP folder; the node reads it when it next starts.

    The channel's MSPs (``fabrx channel update add-crl``) are what peers and orderers check endorsers,
    clients and orderer signatures against; a node's *local* MSP is what it checks peers of its own
    organization against in gossip (and so what its service discovery offers). After revoking a peer of
    the organization, add the CRL to the local MSP of the organization's other peers and restart them,
    or they keep gossiping with the revoked peer and offering it as an endorser. One file per issuing
    CA: a newer CRL of the same CA (which lists every certificate it revoked) replaces the older one.

    Raises:
        NetworkError: ``crl`` is not a PEM certificate revocation list.
    """
    try:
        parsed = x509.load_pem_x509_crl(crl)
    except ValueError as exc:
        raise NetworkError(f"not a PEM certificate revocation list: {exc}") from exc
    issuer = hashlib.sha256(parsed.issuer.public_bytes()).hexdigest()[:16]
    path = msp.crls / f"crl-{issuer}.pem"
    _write(path, crl)
    return path


def _write_msp(msp: MspFolder, enrollment: Enrollment) -> None:
    ca_pem = enrollment.ca_chain
    _write(msp.ca_cert, ca_pem)
    _write(msp.tls_ca_cert, ca_pem)
    _write(msp.config_yaml, NODE_OU_CONFIG.encode())
    for old in msp.keystore.glob("*") if msp.keystore.exists() else ():
        old.unlink()
    _write(msp.keystore / "key.pem", enrollment.private_key_pem, private=True)
    _write(msp.signcert, enrollment.certificate)


def _write_tls(tls: TlsFiles, cert: bytes, key: bytes, ca_cert: bytes) -> None:
    _write(tls.ca_cert, ca_cert)
    _write(tls.key, key, private=True)
    _write(tls.cert, cert)  # written last: its presence marks the TLS identity complete


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.parent.mkdir(mode=0o700 if private else 0o777, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _san(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names
