from __future__ import annotations

import json
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fabrx.admin import ChannelInfo, OrdererAdmin
from fabrx.errors import AdminError

BASE = "/participation/v1/channels"


@dataclass
class FakeRegistrar:
    """The orderer's channel participation behaviour, as the fake server sees it."""

    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    registrar: FakeRegistrar
    parse_block: Callable[[bytes], str]

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> bytes:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.registrar.requests.append((self.command, self.path, dict(self.headers), body))
        return body

    def do_POST(self) -> None:
        body = self._record()
        content_type = self.headers["Content-Type"]
        assert self.path == BASE
        assert content_type.startswith("multipart/form-data; boundary=")
        boundary = content_type.split("boundary=")[1].encode()
        part = body.split(b"--" + boundary)[1]
        head, _, content = part.partition(b"\r\n\r\n")
        assert b'name="config-block"' in head
        block = content[: -len(b"\r\n")]
        if block == b"bad":
            self._answer(400, {"error": "invalid join block: cannot unmarshal"})
            return
        name = self.parse_block(block)
        if name in self.registrar.channels:
            self._answer(405, {"error": "cannot join: channel already exists"})
            return
        info = {
            "name": name,
            "url": f"{BASE}/{name}",
            "consensusRelation": "consenter",
            "status": "active",
            "height": 1,
        }
        self.registrar.channels[name] = info
        self._answer(201, info)

    def do_GET(self) -> None:
        self._record()
        if self.path == BASE:
            short = [{"name": n, "url": f"{BASE}/{n}"} for n in self.registrar.channels]
            self._answer(200, {"systemChannel": None, "channels": short or None})
            return
        name = self.path.removeprefix(BASE + "/")
        if name not in self.registrar.channels:
            self._answer(404, {"error": "channel does not exist"})
            return
        self._answer(200, self.registrar.channels[name])

    def do_DELETE(self) -> None:
        self._record()
        name = self.path.removeprefix(BASE + "/")
        if self.registrar.channels.pop(name, None) is None:
            self._answer(404, {"error": "cannot remove: channel does not exist"})
            return
        self.send_response(204)
        self.end_headers()


@dataclass
class Orderer:
    address: str
    registrar: FakeRegistrar
    ca_pem: bytes
    client_cert: bytes
    client_key: bytes
    foreign_cert: bytes
    foreign_key: bytes

    def admin(self, **overrides: Any) -> OrdererAdmin:
        options: dict[str, Any] = {
            "tls_root_certs": self.ca_pem,
            "client_cert": self.client_cert,
            "client_key": self.client_key,
            "timeout": 5,
        }
        options.update(overrides)
        return OrdererAdmin(self.address, **options)


@pytest.fixture
def orderer(make_ca: Any, make_cert: Any, make_block: Any) -> Iterator[Orderer]:
    ca = make_ca("tlsca.orderer")
    server = make_cert(ca, "orderer.example.com", dns=("orderer.example.com",))
    client = make_cert(ca, "admin.orderer")
    foreign = make_cert(make_ca("tlsca.other"), "admin.other")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS, as ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED
    context.load_verify_locations(cadata=ca.cert_pem.decode())
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(server.cert_pem)
        key_file.write_bytes(server.key_pem)
        context.load_cert_chain(cert_file, key_file)
    registrar = FakeRegistrar()

    def parse_block(block: bytes) -> str:
        from fabrx.admin._block import channel_id_of_block

        return channel_id_of_block(block)

    handler = type(
        "BoundHandler", (Handler,), {"registrar": registrar, "parse_block": staticmethod(parse_block)}
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Orderer(
            address=f"127.0.0.1:{httpd.server_address[1]}",
            registrar=registrar,
            ca_pem=ca.cert_pem,
            client_cert=client.cert_pem,
            client_key=client.key_pem,
            foreign_cert=foreign.cert_pem,
            foreign_key=foreign.key_pem,
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_join_posts_block_as_config_block_form_field(orderer: Orderer, make_block: Any) -> None:
    block = make_block("pharma")
    joined = orderer.admin(server_name="orderer.example.com").join(block)
    assert joined.already_joined is False
    assert joined.info == ChannelInfo(
        name="pharma", status="active", consensus_relation="consenter", height=1
    )
    method, path, headers, body = orderer.registrar.requests[0]
    assert (method, path) == ("POST", BASE)
    assert block in body
    assert headers["Accept"] == "application/json"


def test_second_join_reports_already_joined_with_current_info(orderer: Orderer, make_block: Any) -> None:
    admin = orderer.admin(server_name="orderer.example.com")
    admin.join(make_block("pharma"))
    again = admin.join(make_block("pharma"))
    assert again.already_joined is True
    assert again.info.name == "pharma"
    assert [r[0] for r in orderer.registrar.requests] == ["POST", "POST", "GET"]


def test_channels_info_and_remove(orderer: Orderer, make_block: Any) -> None:
    admin = orderer.admin(server_name="orderer.example.com")
    assert admin.channels() == ()
    admin.join(make_block("a"))
    admin.join(make_block("b"))
    assert admin.channels() == ("a", "b")
    assert admin.info("b").height == 1
    admin.remove("a")
    assert admin.channels() == ("b",)
    assert orderer.registrar.requests[-2][:2] == ("DELETE", f"{BASE}/a")


def test_orderer_errors_carry_its_json_error_text(orderer: Orderer, make_block: Any) -> None:
    admin = orderer.admin(server_name="orderer.example.com")
    with pytest.raises(AdminError, match=r"HTTP 404\): channel does not exist"):
        admin.info("missing")
    with pytest.raises(AdminError, match="cannot remove: channel does not exist"):
        admin.remove("missing")


def test_join_refusal_carries_the_orderer_reason(orderer: Orderer, monkeypatch: pytest.MonkeyPatch) -> None:
    import fabrx.admin.participation as participation

    monkeypatch.setattr(participation, "channel_id_of_block", lambda block: "pharma")
    with pytest.raises(AdminError, match=r"join channel pharma failed .*HTTP 400\): invalid join block"):
        orderer.admin(server_name="orderer.example.com").join(b"bad")


def test_not_a_block_is_refused_before_any_request(orderer: Orderer) -> None:
    with pytest.raises(AdminError, match=r"not a Fabric block|no transaction"):
        orderer.admin(server_name="orderer.example.com").join(b"\xff\xff")
    assert orderer.registrar.requests == []


def test_host_name_is_checked_against_certificate(orderer: Orderer) -> None:
    # The server certificate names orderer.example.com only, not 127.0.0.1.
    with pytest.raises(AdminError, match="TLS handshake"):
        orderer.admin().channels()


def test_client_certificate_from_untrusted_ca_is_refused(orderer: Orderer) -> None:
    admin = orderer.admin(
        server_name="orderer.example.com", client_cert=orderer.foreign_cert, client_key=orderer.foreign_key
    )
    with pytest.raises(AdminError, match="orderer admin endpoint"):
        admin.channels()
    assert orderer.registrar.requests == []


def test_unreachable_orderer_raises_admin_error(orderer: Orderer) -> None:
    admin = OrdererAdmin(
        "127.0.0.1:1",
        tls_root_certs=orderer.ca_pem,
        client_cert=orderer.client_cert,
        client_key=orderer.client_key,
    )
    with pytest.raises(AdminError, match=r"cannot reach orderer admin endpoint 127\.0\.0\.1:1"):
        admin.channels()


def test_unusable_tls_material_is_reported(orderer: Orderer) -> None:
    with pytest.raises(AdminError, match="unusable orderer admin TLS material"):
        orderer.admin(client_key=b"not a key")
    with pytest.raises(ValueError, match="host:port"):
        OrdererAdmin("no-port", tls_root_certs=b"", client_cert=b"", client_key=b"")


def test_from_files_reads_pem_material(orderer: Orderer, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(orderer.ca_pem)
    (tmp_path / "cert.pem").write_bytes(orderer.client_cert)
    (tmp_path / "key.pem").write_bytes(orderer.client_key)
    admin = OrdererAdmin.from_files(
        orderer.address,
        tls_root_cert=tmp_path / "ca.pem",
        client_cert=tmp_path / "cert.pem",
        client_key=tmp_path / "key.pem",
        server_name="orderer.example.com",
    )
    assert admin.channels() == ()
    with pytest.raises(AdminError, match="cannot read"):
        OrdererAdmin.from_files(
            orderer.address,
            tls_root_cert=tmp_path / "missing.pem",
            client_cert=tmp_path / "cert.pem",
            client_key=tmp_path / "key.pem",
        )
