"""Wallets: Node SDK file format, round trips, private-key file permissions, atomic writes."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID

from fabrx.errors import IdentityError
from fabrx.wallet import FileSystemWallet, InMemoryWallet, Wallet, X509Identity


def _new_identity(msp_id: str = "Org1MSP", name: str = "appUser") -> X509Identity:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return X509Identity(
        msp_id=msp_id,
        certificate=cert.public_bytes(serialization.Encoding.PEM),
        private_key=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


@pytest.fixture(scope="module")
def identity() -> X509Identity:
    return _new_identity()


def test_file_system_wallet_round_trips_an_identity(tmp_path: Path, identity: X509Identity) -> None:
    wallet = FileSystemWallet(tmp_path / "wallet")

    wallet.put("appUser", identity)

    assert wallet.get("appUser") == identity
    assert FileSystemWallet(tmp_path / "wallet").get("appUser") == identity  # a new instance reads the file


def test_file_holds_the_node_sdk_json_byte_for_byte(tmp_path: Path, identity: X509Identity) -> None:
    FileSystemWallet(tmp_path).put("appUser", identity)

    written = (tmp_path / "appUser.id").read_bytes()

    # What fabric-network's X509Provider.toJson + JSON.stringify produce for the same identity.
    node = (
        '{"credentials":{"certificate":'
        + json.dumps(identity.certificate.decode())
        + ',"privateKey":'
        + json.dumps(identity.private_key.decode())
        + '},"mspId":"Org1MSP","type":"X.509","version":1}'
    )
    assert written == node.encode()
    parsed = json.loads(written)
    assert list(parsed) == ["credentials", "mspId", "type", "version"]
    assert list(parsed["credentials"]) == ["certificate", "privateKey"]


def test_reads_a_file_written_by_the_node_sdk(tmp_path: Path, identity: X509Identity) -> None:
    # Node may add fields (e.g. a future optional one) and pretty-printing is irrelevant to a reader.
    node_file = {
        "credentials": {
            "certificate": identity.certificate.decode(),
            "privateKey": identity.private_key.decode(),
        },
        "mspId": "Org1MSP",
        "type": "X.509",
        "version": 1,
    }
    (tmp_path / "admin.id").write_text(json.dumps(node_file, indent=2))

    assert FileSystemWallet(tmp_path).get("admin") == identity


def test_identity_file_is_private_to_the_owner(tmp_path: Path, identity: X509Identity) -> None:
    wallet = FileSystemWallet(tmp_path / "new" / "wallet")

    wallet.put("appUser", identity)

    assert stat.S_IMODE((tmp_path / "new" / "wallet" / "appUser.id").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new" / "wallet").stat().st_mode) == 0o700


def test_put_replaces_an_existing_identity_and_keeps_it_private(
    tmp_path: Path, identity: X509Identity
) -> None:
    wallet = FileSystemWallet(tmp_path)
    (tmp_path / "appUser.id").write_text("old")
    os.chmod(tmp_path / "appUser.id", 0o644)
    replacement = _new_identity(msp_id="Org2MSP")

    wallet.put("appUser", replacement)

    assert wallet.get("appUser") == replacement
    assert stat.S_IMODE((tmp_path / "appUser.id").stat().st_mode) == 0o600


def test_failed_write_leaves_the_previous_identity_and_no_temporary_file(
    tmp_path: Path, identity: X509Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = FileSystemWallet(tmp_path)
    wallet.put("appUser", identity)

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(IdentityError, match=r"cannot write wallet entry .*No space left"):
        wallet.put("appUser", _new_identity(msp_id="Org2MSP"))

    assert wallet.get("appUser") == identity
    assert sorted(p.name for p in tmp_path.iterdir()) == ["appUser.id"]


def test_list_returns_sorted_labels_of_identity_files_only(tmp_path: Path, identity: X509Identity) -> None:
    wallet = FileSystemWallet(tmp_path)
    for label in ("zeta", "admin", "peer0.org1"):
        wallet.put(label, identity)
    (tmp_path / "notes.txt").write_text("not an identity")
    (tmp_path / ".admin.id.x1.tmp").write_text("an interrupted write")

    assert wallet.list() == ["admin", "peer0.org1", "zeta"]
    assert FileSystemWallet(tmp_path / "missing").list() == []


def test_remove_deletes_the_identity_and_ignores_missing_labels(
    tmp_path: Path, identity: X509Identity
) -> None:
    wallet = FileSystemWallet(tmp_path)
    wallet.put("appUser", identity)

    wallet.remove("appUser")
    wallet.remove("appUser")

    assert wallet.get("appUser") is None
    assert wallet.list() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"type": "HSM-X.509", "version": 1}', "only X.509"),
        ('{"type": "X.509", "version": 2}', "only version 1"),
        ('{"type": "X.509", "version": 1, "mspId": "Org1MSP", "credentials": {}}', "lacks mspId"),
    ],
)
def test_unusable_file_raises_identity_error_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "bad.id").write_text(content)

    with pytest.raises(IdentityError, match=message) as caught:
        FileSystemWallet(tmp_path).get("bad")
    assert str(tmp_path / "bad.id") in str(caught.value)


@pytest.mark.parametrize("label", ["", "../escape", "a/b", ".hidden", "back\\slash", "nul\0"])
def test_labels_that_are_not_plain_file_names_are_refused(
    tmp_path: Path, identity: X509Identity, label: str
) -> None:
    with pytest.raises(IdentityError, match="wallet label"):
        FileSystemWallet(tmp_path / "wallet").put(label, identity)
    with pytest.raises(IdentityError, match="wallet label"):
        InMemoryWallet().put(label, identity)
    assert not (tmp_path / "escape.id").exists()


def test_in_memory_wallet_has_the_same_behaviour(identity: X509Identity) -> None:
    wallet: Wallet = InMemoryWallet()
    other = _new_identity(msp_id="Org2MSP")

    wallet.put("b", identity)
    wallet.put("a", other)
    wallet.remove("missing")

    assert wallet.list() == ["a", "b"]
    assert wallet.get("b") == identity
    assert wallet.get("c") is None
    wallet.remove("a")
    assert wallet.list() == ["b"]


def test_file_system_wallet_satisfies_the_wallet_protocol(tmp_path: Path, identity: X509Identity) -> None:
    wallets: list[Wallet] = [FileSystemWallet(tmp_path), InMemoryWallet()]
    for wallet in wallets:
        wallet.put("u", identity)
        assert wallet.list() == ["u"]


def test_identity_and_signer_of_a_stored_identity_verify_together(
    tmp_path: Path, identity: X509Identity
) -> None:
    wallet = FileSystemWallet(tmp_path)
    wallet.put("appUser", identity)
    loaded = wallet.get("appUser")
    assert loaded is not None

    digest = hashlib.sha256(b"proposal bytes").digest()
    signature = loaded.signer()(digest)

    public_key = loaded.identity.certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    assert loaded.identity.msp_id == "Org1MSP"
    assert loaded.identity.credentials == identity.certificate


def test_repr_never_shows_the_private_key(identity: X509Identity) -> None:
    assert "PRIVATE" not in repr(identity)
    assert "Org1MSP" in repr(identity)


def test_unusable_private_key_raises_identity_error_on_use() -> None:
    broken = X509Identity(msp_id="Org1MSP", certificate=b"", private_key=b"not a key")

    with pytest.raises(IdentityError):
        broken.signer()
