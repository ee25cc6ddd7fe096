"""CAClient against a real fabric-ca-server with TLS (the Fabric CA that `make fabric` installed)."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from netsupport import installed_fabric

from fabrx.ca import AlreadyRegisteredError, Attribute, CAClient, Enrollment
from fabrx.errors import CAError
from fabrx.identity import Identity
from fabrx.wallet import FileSystemWallet, X509Identity

pytestmark = pytest.mark.integration

PORTS = range(26200, 26300)
CA_NAME = "ca-org1"
ATTRIBUTES_OID = ObjectIdentifier("1.2.3.4.5.6.7.8.1")  # fabric-ca's attribute extension (JSON)


@dataclass
class RealCA:
    home: Path
    url: str
    client: CAClient
    admin: Enrollment

    @property
    def registrar(self) -> Identity:
        return Identity("Org1MSP", self.admin.certificate)


def _free_ports(count: int) -> list[int]:
    found: list[int] = []
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    pytest.fail(f"no {count} free ports in {PORTS}")


def _server_binary() -> Path:
    return installed_fabric().ca_bin_dir / "fabric-ca-server"


@pytest.fixture(scope="module")
def real_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCA]:
    binary = _server_binary()
    home = tmp_path_factory.mktemp("fabric-ca")
    port, operations_port = _free_ports(2)
    argv = [
        str(binary), "start",
        "--home", str(home),
        "--boot", "admin:adminpw",
        "--ca.name", CA_NAME,
        "--address", "127.0.0.1",
        "--port", str(port),
        "--operations.listenaddress", f"127.0.0.1:{operations_port}",
        "--tls.enabled",
        "--csr.hosts", "127.0.0.1,localhost",
    ]  # fmt: skip
    log_path = home / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, cwd=home, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"https://127.0.0.1:{port}"
        client = _wait_until_serving(process, url, home, log_path)
        admin = client.enroll("admin", "adminpw")
        yield RealCA(home=home, url=url, client=client, admin=admin)
        client.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, home: Path, log: Path) -> CAClient:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"fabric-ca-server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if (home / "ca-cert.pem").exists() and (home / "tls-cert.pem").exists():
            client = CAClient(url, tls_root_certs=home / "ca-cert.pem", ca_name=CA_NAME, timeout=10)
            with contextlib.suppress(CAError):
                client.info()
                return client
            client.close()
        time.sleep(0.1)
    pytest.fail(f"fabric-ca-server did not serve {url} within 30 s:\n{log.read_text()[-3000:]}")


def _organizational_units(enrollment: Enrollment) -> list[str]:
    cert = x509.load_pem_x509_certificate(enrollment.certificate)
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]


def _attributes(enrollment: Enrollment) -> dict[str, str]:
    cert = x509.load_pem_x509_certificate(enrollment.certificate)
    extension = cert.extensions.get_extension_for_oid(ATTRIBUTES_OID).value
    assert isinstance(extension, x509.UnrecognizedExtension)
    attributes: dict[str, str] = json.loads(extension.value)["attrs"]
    return attributes


def test_info_names_the_ca_and_its_root_which_also_signed_the_tls_certificate(real_ca: RealCA) -> None:
    info = real_ca.client.info()

    assert info.ca_name == CA_NAME
    assert info.version == "1.5.21"
    assert info.ca_chain == (real_ca.home / "ca-cert.pem").read_bytes()
    assert info.issuer_public_key  # the server always creates an Idemix issuer
    root = x509.load_pem_x509_certificate(info.ca_chain)
    tls = x509.load_pem_x509_certificate((real_ca.home / "tls-cert.pem").read_bytes())
    tls.verify_directly_issued_by(root)


@pytest.mark.parametrize("identity_type", ["admin", "peer", "orderer", "client"])
def test_registered_type_becomes_the_node_ou_of_the_enrollment_certificate(
    real_ca: RealCA, identity_type: str
) -> None:
    enrollment_id = f"{identity_type}-ou"
    secret = real_ca.client.register(
        real_ca.registrar, real_ca.admin.signer(), enrollment_id, type=identity_type
    )

    enrollment = real_ca.client.enroll(enrollment_id, secret)

    assert _organizational_units(enrollment) == [identity_type]
    cert = x509.load_pem_x509_certificate(enrollment.certificate)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == enrollment_id
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(enrollment.ca_chain))
    assert cert.public_key() == enrollment.private_key.public_key()


def test_ecert_attribute_is_in_the_attribute_extension(real_ca: RealCA) -> None:
    secret = real_ca.client.register(
        real_ca.registrar,
        real_ca.admin.signer(),
        "hospital1",
        type="client",
        attributes=[Attribute("fabrx.role", "hospital", ecert=True), Attribute("fabrx.hidden", "x")],
    )

    attributes = _attributes(real_ca.client.enroll("hospital1", secret))

    assert attributes["fabrx.role"] == "hospital"
    assert attributes["hf.EnrollmentID"] == "hospital1"
    assert attributes["hf.Type"] == "client"
    assert "fabrx.hidden" not in attributes


def test_tls_profile_issues_server_and_client_auth_certificate_with_host_sans(real_ca: RealCA) -> None:
    secret = real_ca.client.register(real_ca.registrar, real_ca.admin.signer(), "peer0", type="peer")

    tls = real_ca.client.enroll("peer0", secret, profile="tls", csr_hosts=["127.0.0.1", "localhost"])

    cert = x509.load_pem_x509_certificate(tls.certificate)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages and ExtendedKeyUsageOID.CLIENT_AUTH in usages


def test_registering_twice_raises_already_registered_and_enrolling_again_works(real_ca: RealCA) -> None:
    secret = real_ca.client.register(
        real_ca.registrar, real_ca.admin.signer(), "orderer0", secret="orderer0pw", type="orderer"
    )

    with pytest.raises(AlreadyRegisteredError) as caught:
        real_ca.client.register(real_ca.registrar, real_ca.admin.signer(), "orderer0", type="orderer")

    assert caught.value.enrollment_id == "orderer0"
    assert any("already registered" in m for m in caught.value.messages)
    assert secret == "orderer0pw"
    assert _organizational_units(real_ca.client.enroll("orderer0", secret)) == ["orderer"]


def test_wrong_secret_raises_ca_error_with_the_ca_message(real_ca: RealCA) -> None:
    with pytest.raises(CAError) as caught:
        real_ca.client.enroll("admin", "not-the-password")

    assert caught.value.messages == ("Authentication failure",)


def test_reenroll_issues_a_new_certificate_for_the_same_identity(real_ca: RealCA) -> None:
    secret = real_ca.client.register(real_ca.registrar, real_ca.admin.signer(), "user-re")
    first = real_ca.client.enroll("user-re", secret)

    renewed = real_ca.client.reenroll(Identity("Org1MSP", first.certificate), first.signer())

    old = x509.load_pem_x509_certificate(first.certificate)
    new = x509.load_pem_x509_certificate(renewed.certificate)
    assert new.subject == old.subject
    assert new.serial_number != old.serial_number
    assert new.public_key() == renewed.private_key.public_key() != first.private_key.public_key()


def test_revoked_certificate_can_no_longer_authenticate(real_ca: RealCA) -> None:
    secret = real_ca.client.register(real_ca.registrar, real_ca.admin.signer(), "user-rev")
    enrollment = real_ca.client.enroll("user-rev", secret)

    revocation = real_ca.client.revoke(
        real_ca.registrar,
        real_ca.admin.signer(),
        certificate=enrollment.certificate,
        reason="keycompromise",
        gen_crl=True,
    )

    serial = x509.load_pem_x509_certificate(enrollment.certificate).serial_number
    assert [r.serial for r in revocation.revoked] == [format(serial, "x")]
    assert revocation.crl is not None
    crl = x509.load_pem_x509_crl(revocation.crl)
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    with pytest.raises(CAError):
        real_ca.client.reenroll(Identity("Org1MSP", enrollment.certificate), enrollment.signer())


def test_revoked_identity_can_no_longer_enroll(real_ca: RealCA) -> None:
    secret = real_ca.client.register(
        real_ca.registrar, real_ca.admin.signer(), "user-gone", max_enrollments=-1
    )
    real_ca.client.enroll("user-gone", secret)

    revocation = real_ca.client.revoke(real_ca.registrar, real_ca.admin.signer(), enrollment_id="user-gone")

    assert len(revocation.revoked) == 1
    with pytest.raises(CAError, match="refused enroll"):
        real_ca.client.enroll("user-gone", secret)


def test_enrollment_stored_in_a_wallet_signs_requests_the_ca_accepts(real_ca: RealCA, tmp_path: Path) -> None:
    wallet = FileSystemWallet(tmp_path)
    wallet.put("admin", X509Identity("Org1MSP", real_ca.admin.certificate, real_ca.admin.private_key_pem))
    stored = wallet.get("admin")
    assert stored is not None

    secret = real_ca.client.register(stored.identity, stored.signer(), "from-wallet")

    assert real_ca.client.enroll("from-wallet", secret).certificate.startswith(b"-----BEGIN CERTIFICATE-----")


# --- through an HTTP proxy ---------------------------------------------------------------------------


@dataclass
class TunnelProxy:
    """A minimal HTTP CONNECT proxy (what hospital networks put between a client and the outside)."""

    url: str
    tunnels: list[str] = field(default_factory=list)  # "host:port" of every CONNECT
    authorizations: list[str | None] = field(default_factory=list)


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def _serve_tunnel(client: socket.socket, proxy: TunnelProxy) -> None:
    with client:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        proxy.tunnels.append(target)
        proxy.authorizations.append(headers.get("Proxy-Authorization") or headers.get("proxy-authorization"))
        host, port = target.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join(timeout=10)


@pytest.fixture
def tunnel_proxy() -> Iterator[TunnelProxy]:
    listener = socket.create_server(("127.0.0.1", 0))
    proxy = TunnelProxy(url=f"http://127.0.0.1:{listener.getsockname()[1]}")

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                threading.Thread(target=_serve_tunnel, args=(client, proxy), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield proxy
    listener.close()


def test_the_ca_is_reached_through_an_http_proxy_with_tls_to_the_ca(
    real_ca: RealCA, tunnel_proxy: TunnelProxy
) -> None:
    ca_address = real_ca.url.removeprefix("https://")
    user = "proxy-user:s3cret"
    proxied = f"http://{user}@{tunnel_proxy.url.removeprefix('http://')}"
    with CAClient(
        real_ca.url, tls_root_certs=real_ca.home / "ca-cert.pem", ca_name=CA_NAME, proxy=proxied, timeout=10
    ) as client:
        assert client.info().ca_name == CA_NAME
        secret = client.register(real_ca.registrar, real_ca.admin.signer(), "via-proxy", type="client")
        enrollment = client.enroll("via-proxy", secret)

    assert (
        x509.load_pem_x509_certificate(enrollment.certificate)
        .subject.rfc4514_string()
        .startswith("CN=via-proxy")
    )
    # Every connection was a tunnel to the CA (TLS inside it), authenticated at the proxy.
    assert tunnel_proxy.tunnels and set(tunnel_proxy.tunnels) == {ca_address}
    expected = "Basic " + base64.b64encode(user.encode()).decode()
    assert set(tunnel_proxy.authorizations) == {expected}


def test_https_proxy_from_the_environment_is_used_unless_no_proxy_names_the_ca(
    real_ca: RealCA, tunnel_proxy: TunnelProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", tunnel_proxy.url)
    with CAClient(real_ca.url, tls_root_certs=real_ca.home / "ca-cert.pem", ca_name=CA_NAME) as client:
        assert client.proxy == tunnel_proxy.url
        assert client.info().ca_name == CA_NAME
    assert len(tunnel_proxy.tunnels) == 1

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with CAClient(real_ca.url, tls_root_certs=real_ca.home / "ca-cert.pem", ca_name=CA_NAME) as direct:
        assert direct.proxy is None
        assert direct.info().ca_name == CA_NAME
    assert len(tunnel_proxy.tunnels) == 1


def test_an_unreachable_proxy_is_named_in_the_error_without_its_password(real_ca: RealCA) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with (
        CAClient(
            real_ca.url,
            tls_root_certs=real_ca.home / "ca-cert.pem",
            proxy=f"http://user:hunter2@127.0.0.1:{closed_port}",
            timeout=5,
        ) as client,
        pytest.raises(
            CAError, match=rf"through proxy 127\.0\.0\.1:{closed_port}: the proxy failed"
        ) as raised,
    ):
        client.info()
    assert "hunter2" not in str(raised.value)
