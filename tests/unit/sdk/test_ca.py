"""CAClient against an in-process fake Fabric CA served over HTTPS on 127.0.0.1."""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID

from fabrx.ca import (
    AlreadyRegisteredError,
    Attribute,
    AttributeRequest,
    CAClient,
    Revocation,
)
from fabrx.ca._csr import new_csr
from fabrx.errors import ArgumentError, CAError
from fabrx.identity import Identity
from fabrx.signing import new_private_key_signer

PORT_RANGE = range(26100, 26200)
NOW = datetime.datetime.now(datetime.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass
class Authority:
    """A self-signed CA that issues certificates the way fabric-ca does (CN, SANs, AKI)."""

    name: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(self.name))
            .issuer_name(_name(self.name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(minutes=5))
            .not_valid_after(NOW + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self, subject: x509.Name, public_key: Any, sans: Sequence[x509.GeneralName] = ()
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(minutes=5))
            .not_valid_after(NOW + datetime.timedelta(days=1))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self.key, hashes.SHA256())


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, Any]


class FakeCA:
    """Records requests and answers them like fabric-ca-server (success and error envelopes)."""

    def __init__(self, authority: Authority, tls_key_file: Path, tls_cert_file: Path) -> None:
        self.authority = authority
        self.requests: list[Recorded] = []
        self.connections: list[socket.socket] = []
        self.registered: dict[str, str] = {}
        self.handlers: dict[str, Callable[[Recorded], Reply]] = {
            "/api/v1/cainfo": self._cainfo,
            "/api/v1/enroll": self._enroll,
            "/api/v1/reenroll": self._enroll,
            "/api/v1/register": self._register,
            "/api/v1/revoke": self._revoke,
        }
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like Go's net/http

            def setup(self) -> None:
                super().setup()
                # Like Go's net/http: no Nagle delay between the header and body writes.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                fake.connections.append(self.connection)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = Recorded("POST", self.path, dict(self.headers.items()), body)
                fake.requests.append(request)
                handler = fake.handlers.get(self.path)
                status, answer = handler(request) if handler else (404, None)
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _bind(Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert_file, tls_key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def ok(result: Any) -> Reply:
        return 201, {"result": result, "errors": [], "messages": [], "success": True}

    @staticmethod
    def error(status: int, code: int, message: str) -> Reply:
        return status, {
            "result": "",
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "success": False,
        }

    def server_info(self) -> dict[str, str]:
        return {
            "CAName": "ca-org1",
            "CAChain": base64.b64encode(self.authority.pem).decode(),
            "IssuerPublicKey": base64.b64encode(b"idemix-issuer").decode(),
            "IssuerRevocationPublicKey": "",
            "Version": "1.5.21",
        }

    def _cainfo(self, request: Recorded) -> Reply:
        return self.ok(self.server_info())

    def _enroll(self, request: Recorded) -> Reply:
        body = request.json
        csr = x509.load_pem_x509_csr(body["certificate_request"].encode())
        sans = [
            x509.IPAddress(ipaddress.ip_address(h)) if h.replace(".", "").isdigit() else x509.DNSName(h)
            for h in body.get("hosts") or []
        ]
        cert = self.authority.issue(csr.subject, csr.public_key(), sans)
        pem = cert.public_bytes(serialization.Encoding.PEM)
        return self.ok({"Cert": base64.b64encode(pem).decode(), "ServerInfo": self.server_info()})

    def _register(self, request: Recorded) -> Reply:
        enrollment_id = request.json["id"]
        if enrollment_id in self.registered:
            return self.error(409, 74, f"Identity '{enrollment_id}' is already registered")
        self.registered[enrollment_id] = request.json.get("secret", "generated-secret")
        return self.ok({"secret": self.registered[enrollment_id]})

    def _revoke(self, request: Recorded) -> Reply:
        body = request.json
        revoked = [{"Serial": body.get("serial", "1f"), "AKI": body.get("aki", "ab")}]
        crl = base64.b64encode(b"-----BEGIN X509 CRL-----\n...\n").decode() if body.get("gencrl") else ""
        return self.ok({"RevokedCerts": revoked, "CRL": crl})


def _bind(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    # Ports of this helper's assigned range, so parallel test runs of other helpers never collide.
    for port in PORT_RANGE:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
        server.daemon_threads = True
        return server
    raise RuntimeError(f"no free port in {PORT_RANGE}")


@dataclass
class Setup:
    fake: FakeCA
    client: CAClient
    tls_root: bytes
    registrar: Identity
    registrar_key: ec.EllipticCurvePrivateKey


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority("ca.org1")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory, authority: Authority) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = authority.issue(
        _name("fake-ca"), key.public_key(), [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    key_file, cert_file = folder / "key.pem", folder / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


@pytest.fixture
def setup(authority: Authority, tls_files: tuple[Path, Path]) -> Iterator[Setup]:
    fake = FakeCA(authority, *tls_files)
    registrar_key = ec.generate_private_key(ec.SECP256R1())
    registrar_cert = authority.issue(_name("admin"), registrar_key.public_key())
    registrar = Identity("Org1MSP", registrar_cert.public_bytes(serialization.Encoding.PEM))
    client = CAClient(fake.url, tls_root_certs=authority.pem, timeout=5)
    try:
        yield Setup(fake, client, authority.pem, registrar, registrar_key)
    finally:
        client.close()
        fake.close()


def _verify_token(header: str, method: str, uri: str, body: bytes) -> x509.Certificate:
    """Check a token as fabric-ca's util.VerifyToken does; return the certificate it carries."""
    b64_cert, b64_signature = header.split(".")
    cert = x509.load_pem_x509_certificate(base64.b64decode(b64_cert))
    payload = ".".join(
        [method, base64.b64encode(uri.encode()).decode(), base64.b64encode(body).decode(), b64_cert]
    ).encode()
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(
        base64.b64decode(b64_signature),
        hashlib.sha256(payload).digest(),
        ec.ECDSA(Prehashed(hashes.SHA256())),
    )
    return cert


def test_info_decodes_chain_version_and_idemix_key_and_sends_ca_name(setup: Setup) -> None:
    client = CAClient(setup.fake.url, tls_root_certs=setup.tls_root, ca_name="ca-org1")
    with client:
        info = client.info()
    assert info.ca_name == "ca-org1"
    assert info.ca_chain == setup.fake.authority.pem
    assert info.version == "1.5.21"
    assert info.issuer_public_key == b"idemix-issuer"
    assert info.issuer_revocation_public_key == b""
    assert setup.fake.requests[-1].json == {"caname": "ca-org1"}
    assert "Authorization" not in setup.fake.requests[-1].headers


def test_enroll_sends_csr_with_enrollment_id_and_host_sans_under_basic_auth(setup: Setup) -> None:
    enrollment = setup.client.enroll(
        "peer0", "s3cret", profile="tls", csr_hosts=["peer0.org1.example.com", "127.0.0.1", "localhost"]
    )

    request = setup.fake.requests[-1]
    assert request.path == "/api/v1/enroll"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"peer0:s3cret").decode()
    body = request.json
    assert body["profile"] == "tls"
    assert body["hosts"] == ["peer0.org1.example.com", "127.0.0.1", "localhost"]
    assert "caname" not in body and "attr_reqs" not in body
    csr = x509.load_pem_x509_csr(body["certificate_request"].encode())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "peer0"
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["peer0.org1.example.com", "localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    # The certificate certifies the key generated for this enrollment; the key never left the client.
    cert = x509.load_pem_x509_certificate(enrollment.certificate)
    assert cert.public_key() == enrollment.private_key.public_key()
    assert enrollment.private_key.curve.name == "secp256r1"
    assert b"PRIVATE KEY" not in request.body
    assert enrollment.ca_chain == setup.fake.authority.pem
    assert "hidden" in repr(enrollment) and "PRIVATE" not in repr(enrollment)


class _ExternalKey:
    """An ExternalKey whose private half the test keeps, as an HSM would keep it."""

    def __init__(self, curve: ec.EllipticCurve) -> None:
        self._key = ec.generate_private_key(curve)

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def sign(self, digest: bytes) -> bytes:
        return new_private_key_signer(self._key)(digest)


@pytest.mark.parametrize("hosts", [(), ("peer0.org1.example.com", "127.0.0.1")])
@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=["P-256", "P-384"])
def test_an_external_key_s_csr_is_the_one_cryptography_would_sign(
    hosts: tuple[str, ...], curve: ec.EllipticCurve
) -> None:
    external = _ExternalKey(curve)

    csr = x509.load_pem_x509_csr(new_csr("user1", external, hosts))

    assert csr.is_signature_valid
    assert csr.public_key() == external.public_key
    reference = x509.load_pem_x509_csr(new_csr("user1", external._key, hosts))
    assert csr.tbs_certrequest_bytes == reference.tbs_certrequest_bytes
    assert type(csr.signature_hash_algorithm) is type(reference.signature_hash_algorithm)


def test_an_external_key_of_another_curve_gets_no_csr() -> None:
    with pytest.raises(CAError, match="secp521r1 key: use ECDSA P-256 or P-384"):
        new_csr("user1", _ExternalKey(ec.SECP521R1()), ())


def test_enroll_external_sends_a_csr_signed_by_the_external_key(setup: Setup) -> None:
    external = _ExternalKey(ec.SECP256R1())

    enrollment = setup.client.enroll_external("erp", "pw", external, csr_hosts=["erp.hospital-a"])

    body = setup.fake.requests[-1].json
    csr = x509.load_pem_x509_csr(body["certificate_request"].encode())
    assert csr.is_signature_valid and csr.public_key() == external.public_key
    assert body["hosts"] == ["erp.hospital-a"]
    cert = x509.load_pem_x509_certificate(enrollment.certificate)
    assert cert.public_key() == external.public_key
    assert enrollment.key is external and enrollment.signer() == external.sign
    assert enrollment.ca_chain == setup.fake.authority.pem


def test_enroll_uses_given_key_and_requests_attributes(setup: Setup) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    enrollment = setup.client.enroll(
        "user1",
        "pw",
        key=key,
        attr_reqs=[AttributeRequest("fabrx.role"), AttributeRequest("hf.Type", optional=True)],
    )

    assert enrollment.private_key is key
    body = setup.fake.requests[-1].json
    assert body["attr_reqs"] == [{"name": "fabrx.role"}, {"name": "hf.Type", "optional": True}]
    csr = x509.load_pem_x509_csr(body["certificate_request"].encode())
    assert isinstance(csr.signature_hash_algorithm, hashes.SHA384)
    assert "hosts" not in body and "profile" not in body
    assert enrollment.private_key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_register_signs_token_that_verifies_with_registrar_public_key(setup: Setup) -> None:
    secret = setup.client.register(
        setup.registrar,
        new_private_key_signer(setup.registrar_key),
        "hospital1",
        secret="pw1",
        type="client",
        affiliation="org1.department1",
        attributes=[Attribute("fabrx.role", "hospital", ecert=True), Attribute("level", "2")],
        max_enrollments=-1,
    )

    assert secret == "pw1"
    request = setup.fake.requests[-1]
    assert request.json == {
        "id": "hospital1",
        "type": "client",
        "affiliation": "org1.department1",
        "secret": "pw1",
        "max_enrollments": -1,
        "attrs": [
            {"name": "fabrx.role", "value": "hospital", "ecert": True},
            {"name": "level", "value": "2"},
        ],
    }
    cert = _verify_token(request.headers["Authorization"], "POST", "/api/v1/register", request.body)
    assert cert.public_key() == setup.registrar_key.public_key()


def test_token_does_not_verify_for_another_body_or_uri(setup: Setup) -> None:
    setup.client.register(setup.registrar, new_private_key_signer(setup.registrar_key), "x")
    request = setup.fake.requests[-1]

    with pytest.raises(InvalidSignature):
        _verify_token(request.headers["Authorization"], "POST", "/api/v1/register", request.body + b" ")
    with pytest.raises(InvalidSignature):
        _verify_token(request.headers["Authorization"], "POST", "/api/v1/revoke", request.body)


def test_register_without_secret_returns_the_generated_one_and_omits_optional_fields(setup: Setup) -> None:
    secret = setup.client.register(
        setup.registrar, new_private_key_signer(setup.registrar_key), "peer0", type="peer"
    )

    assert secret == "generated-secret"
    assert setup.fake.requests[-1].json == {"id": "peer0", "type": "peer", "affiliation": ""}


def test_registering_an_existing_identity_raises_already_registered(setup: Setup) -> None:
    signer = new_private_key_signer(setup.registrar_key)
    setup.client.register(setup.registrar, signer, "orderer0", type="orderer")

    with pytest.raises(AlreadyRegisteredError) as caught:
        setup.client.register(setup.registrar, signer, "orderer0", type="orderer")

    assert caught.value.enrollment_id == "orderer0"
    assert caught.value.messages == ("Identity 'orderer0' is already registered",)
    assert isinstance(caught.value, CAError)


def test_error_payload_becomes_ca_error_with_the_ca_messages(setup: Setup) -> None:
    setup.fake.handlers["/api/v1/enroll"] = lambda _: FakeCA.error(401, 20, "Authentication failure")

    with pytest.raises(CAError) as caught:
        setup.client.enroll("peer0", "wrong")

    assert caught.value.messages == ("Authentication failure",)
    assert "HTTP 401" in str(caught.value)
    assert "wrong enrollment secret" in str(caught.value)
    assert "wrong" not in str(caught.value).replace("wrong enrollment secret", "")  # no secret echoed


def test_every_error_of_the_answer_is_kept(setup: Setup) -> None:
    def two_errors(_: Recorded) -> Reply:
        return 400, {
            "result": None,
            "errors": [{"code": 43, "message": "first"}, {"code": 0, "message": "second"}],
            "success": False,
        }

    setup.fake.handlers["/api/v1/register"] = two_errors
    with pytest.raises(CAError) as caught:
        setup.client.register(setup.registrar, new_private_key_signer(setup.registrar_key), "u")
    assert caught.value.messages == ("first", "second")
    assert not isinstance(caught.value, AlreadyRegisteredError)


def test_answer_that_is_not_fabric_ca_json_raises_ca_error(setup: Setup) -> None:
    setup.fake.handlers["/api/v1/cainfo"] = lambda _: (502, b"<html>bad gateway</html>")

    with pytest.raises(CAError, match="HTTP 502 without a Fabric CA answer"):
        setup.client.info()


def test_unsuccessful_answer_without_errors_raises_ca_error(setup: Setup) -> None:
    setup.fake.handlers["/api/v1/cainfo"] = lambda _: (200, {"result": None, "errors": [], "success": False})

    with pytest.raises(CAError, match="refused cainfo"):
        setup.client.info()


def test_reenroll_authenticates_with_current_certificate_and_keeps_enrollment_id(setup: Setup) -> None:
    first = setup.client.enroll("peer0", "pw")
    current = Identity("Org1MSP", first.certificate)

    renewed = setup.client.reenroll(current, first.signer(), csr_hosts=["localhost"])

    request = setup.fake.requests[-1]
    assert request.path == "/api/v1/reenroll"
    assert _verify_token(request.headers["Authorization"], "POST", "/api/v1/reenroll", request.body) == (
        x509.load_pem_x509_certificate(first.certificate)
    )
    csr = x509.load_pem_x509_csr(request.json["certificate_request"].encode())
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "peer0"
    assert renewed.private_key.public_key() != first.private_key.public_key()


def test_revoke_by_certificate_sends_hex_serial_and_aki_and_returns_crl(setup: Setup) -> None:
    enrollment = setup.client.enroll("peer0", "pw")
    cert = x509.load_pem_x509_certificate(enrollment.certificate)

    revocation = setup.client.revoke(
        setup.registrar,
        new_private_key_signer(setup.registrar_key),
        certificate=enrollment.certificate,
        reason="KeyCompromise",
        gen_crl=True,
    )

    body = setup.fake.requests[-1].json
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki is not None
    assert body == {
        "reason": "keycompromise",
        "serial": format(cert.serial_number, "x"),
        "aki": aki.hex(),
        "gencrl": True,
    }
    assert isinstance(revocation, Revocation)
    assert revocation.revoked[0].serial == format(cert.serial_number, "x")
    assert revocation.crl is not None and revocation.crl.startswith(b"-----BEGIN X509 CRL-----")
    _verify_token(
        setup.fake.requests[-1].headers["Authorization"],
        "POST",
        "/api/v1/revoke",
        setup.fake.requests[-1].body,
    )


def test_revoke_by_enrollment_id_returns_no_crl_unless_asked(setup: Setup) -> None:
    revocation = setup.client.revoke(
        setup.registrar, new_private_key_signer(setup.registrar_key), enrollment_id="peer0"
    )

    assert setup.fake.requests[-1].json == {"reason": "unspecified", "id": "peer0"}
    assert revocation.crl is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "nothing to revoke"),
        ({"serial": "1f"}, "both serial and aki"),
        ({"enrollment_id": "x", "reason": "because"}, "unknown revocation reason"),
        ({"certificate": b"not a certificate"}, "not a PEM certificate"),
    ],
)
def test_invalid_revoke_arguments_raise_before_any_request(
    setup: Setup, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(CAError, match=message):
        setup.client.revoke(setup.registrar, new_private_key_signer(setup.registrar_key), **arguments)
    assert setup.fake.requests == []


def test_requests_reuse_one_keep_alive_connection(setup: Setup) -> None:
    for _ in range(3):
        setup.client.info()

    assert len(setup.fake.connections) == 1


def test_idle_connection_closed_by_server_is_replaced_transparently(setup: Setup) -> None:
    setup.client.info()
    for connection in setup.fake.connections:
        connection.shutdown(socket.SHUT_RDWR)

    assert setup.client.info().version == "1.5.21"
    assert len(setup.fake.connections) == 2


def test_unreachable_ca_raises_cannot_reach(setup: Setup) -> None:
    port = setup.fake.server.server_address[1]
    setup.fake.close()
    client = CAClient(f"https://127.0.0.1:{port}", tls_root_certs=setup.tls_root, timeout=2)

    with pytest.raises(CAError, match=rf"cannot reach CA at https://127.0.0.1:{port}: connection refused"):
        client.info()


def test_untrusted_tls_certificate_raises_cannot_reach_naming_verification(setup: Setup) -> None:
    client = CAClient(setup.fake.url, tls_root_certs=Authority("other").pem, timeout=2)

    with pytest.raises(CAError, match=r"cannot reach CA at .*TLS certificate failed verification"):
        client.info()


def test_server_name_override_is_checked_against_the_tls_certificate(setup: Setup) -> None:
    client = CAClient(setup.fake.url, tls_root_certs=setup.tls_root, server_name="ca.elsewhere", timeout=2)

    with pytest.raises(CAError, match=r"'ca\.elsewhere'"):
        client.info()


def test_tls_root_certs_may_be_a_file_path(setup: Setup, tmp_path: Path) -> None:
    root = tmp_path / "ca-cert.pem"
    root.write_bytes(setup.tls_root)

    with CAClient(setup.fake.url, tls_root_certs=root) as client:
        assert client.info().ca_name == "ca-org1"


@pytest.mark.parametrize(
    ("url", "roots", "message"),
    [
        ("http://127.0.0.1:7054", None, "is not usable"),
        ("https://127.0.0.1:7054", b"garbage", "no usable PEM certificate"),
        ("https://127.0.0.1:7054", "/nonexistent/ca-cert.pem", "cannot read tls_root_certs"),
    ],
)
def test_unusable_configuration_raises_ca_error(
    authority: Authority, url: str, roots: bytes | str | None, message: str
) -> None:
    with pytest.raises(CAError, match=message):
        CAClient(url, tls_root_certs=authority.pem if roots is None else roots)


def test_an_unusable_proxy_url_is_refused_without_its_password(authority: Authority) -> None:
    with pytest.raises(CAError, match=r"proxy 'socks5://user:\*\*\*@proxy:1080' is not usable") as raised:
        CAClient("https://127.0.0.1:7054", tls_root_certs=authority.pem, proxy="socks5://user:pw1@proxy:1080")
    assert "pw1" not in str(raised.value)


def test_proxy_none_connects_directly_whatever_the_environment_says(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # the discard port: nothing would answer
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    with CAClient(setup.fake.url, tls_root_certs=setup.tls_root, proxy=None) as client:
        assert client.proxy is None
        assert client.info().ca_name == "ca-org1"


def test_a_call_s_own_timeout_bounds_the_wait_for_a_ca_that_does_not_answer(setup: Setup) -> None:
    released = threading.Event()

    def stalled(request: Recorded) -> Reply:
        released.wait(10)
        return FakeCA.ok(setup.fake.server_info())

    answer = setup.fake.handlers["/api/v1/cainfo"]
    setup.fake.handlers["/api/v1/cainfo"] = stalled
    started = time.monotonic()
    with pytest.raises(CAError, match=r"cannot reach CA at .*: no answer within 0\.3 s"):
        setup.client.info(timeout=0.3)
    assert time.monotonic() - started < 4, "the call's timeout, not the client's 5 s"
    released.set()
    setup.fake.handlers["/api/v1/cainfo"] = answer
    assert setup.client.info().version == "1.5.21", "the client stays usable after a timed-out call"
    with pytest.raises(ArgumentError, match=r"timeout must be a positive number of seconds, got 0"):
        setup.client.info(timeout=0)
    with pytest.raises(ArgumentError, match=r"got -1"):
        CAClient(setup.fake.url, tls_root_certs=setup.tls_root, timeout=-1)
