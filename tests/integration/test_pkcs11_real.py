"""Signing keys in a PKCS#11 token: SoftHSM (`make softhsm`), a member's real Fabric CA, the real network.

The token is initialised once per test process, before python-pkcs11 first loads SoftHSM: a PKCS#11
library reads its configuration and its token list when it is initialised, once per process.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

import fabrx
from fabrx.errors import IdentityError
from fabrx.pkcs11 import Pkcs11Key
from fabrx_network import ConsortiumNetwork
from fabrx_network.admins import org_registrar

pytestmark = pytest.mark.integration

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN = "fabrx-tests"
P256_HALF_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 >> 1


@dataclass(frozen=True)
class Token:
    library: Path
    label: str
    pin: str


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    """A fresh SoftHSM token in a private directory (0700), its PIN only in this process."""
    assert SOFTHSM.exists(), "SoftHSM is missing: `make softhsm` installs it"
    home = tmp_path_factory.mktemp("softhsm")
    home.chmod(0o700)
    (home / "tokens").mkdir(mode=0o700)
    config = home / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    pin = secrets.token_hex(8)
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)
    util = shutil.which("softhsm2-util") or "/usr/bin/softhsm2-util"
    subprocess.run(
        [util, "--init-token", "--free", "--label", TOKEN, "--pin", pin, "--so-pin", secrets.token_hex(8)],
        check=True,
        capture_output=True,
    )
    yield Token(library=SOFTHSM, label=TOKEN, pin=pin)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def _unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


# --- the token alone ---------------------------------------------------------------------------------


def test_a_generated_key_signs_low_s_and_stays_in_the_token(token: Token) -> None:
    label = _unique("signer")
    with Pkcs11Key.generate(token.library, token_label=token.label, pin=token.pin, label=label) as key:
        assert key.public_key.curve.name == "secp256r1"
        for i in range(32):  # the token returns high-S half of the time
            digest = hashlib.sha256(f"message {i}".encode()).digest()
            signature = key.sign(digest)
            key.public_key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
            assert decode_dss_signature(signature)[1] <= P256_HALF_ORDER
        assert "PIN" not in repr(key) and token.pin not in repr(key)

    # Reopened by label: the same key pair, from the token.
    with Pkcs11Key.open(token.library, token_label=token.label, pin=token.pin, label=label) as again:
        assert again.public_key == key.public_key
    with pytest.raises(IdentityError, match="is closed"):
        key.sign(hashlib.sha256(b"late").digest())


def test_p384_keys_sign_sha384_digests(token: Token) -> None:
    label = _unique("p384")
    with Pkcs11Key.generate(
        token.library, token_label=token.label, pin=token.pin, label=label, curve="secp384r1"
    ) as key:
        digest = hashlib.sha384(b"message").digest()
        key.public_key.verify(key.sign(digest), digest, ec.ECDSA(Prehashed(hashes.SHA384())))


def test_token_problems_are_identity_errors_naming_what_is_wrong(token: Token) -> None:
    label = _unique("taken")
    Pkcs11Key.generate(token.library, token_label=token.label, pin=token.pin, label=label).close()
    wrong_pin = "0" * 16
    cases = [
        ({"token_label": "no-such-token", "pin": token.pin}, "no token labelled 'no-such-token'"),
        ({"token_label": token.label, "pin": wrong_pin}, f"wrong user PIN for PKCS#11 token '{TOKEN}'"),
        (
            {"token_label": token.label, "pin": token.pin, "label": "absent"},
            "expected one private key, found 0",
        ),
    ]
    for arguments, _ in cases:
        arguments.setdefault("label", label)
    for arguments, message in cases:
        with pytest.raises(IdentityError, match=message) as raised:
            Pkcs11Key.open(token.library, **arguments)  # type: ignore[arg-type]
        assert wrong_pin not in str(raised.value)
    with pytest.raises(IdentityError, match="already exists"):
        Pkcs11Key.generate(token.library, token_label=token.label, pin=token.pin, label=label)
    with pytest.raises(IdentityError, match="cannot load the PKCS#11 library /nonexistent/libp11\\.so"):
        Pkcs11Key.open("/nonexistent/libp11.so", token_label=token.label, pin=token.pin, label=label)


# --- the real network --------------------------------------------------------------------------------


def test_an_hsm_key_enrolled_with_the_member_s_ca_signs_transactions_that_commit_valid(
    network: ConsortiumNetwork, token: Token
) -> None:
    """The key is generated in the token; the CSR, the proposals and the envelopes are signed there."""
    user = _unique("hsm-erp.HospitalA")
    client, registrar = org_registrar(network, "HospitalA")
    with client, Pkcs11Key.generate(token.library, token_label=token.label, pin=token.pin, label=user) as key:
        secret = client.register(fabrx.Identity("", registrar.certificate), registrar.signer(), user)
        enrolled = client.enroll_external(user, secret, key)

        certificate = x509.load_pem_x509_certificate(enrolled.certificate)
        assert certificate.public_key() == key.public_key
        common_name = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        assert common_name == user

        hospital = network.consortium.org("HospitalA")
        identity = fabrx.Identity(hospital.msp_id, enrolled.certificate)
        with fabrx.connect(
            network.peer_endpoint(hospital, hospital.peers[0]), identity=identity, signer=enrolled.signer()
        ) as gateway:
            contract = gateway.get_network("pharma").get_contract("asset-py")
            assets = [_unique("hsm-asset") for _ in range(3)]
            for asset in assets:  # six signatures by the token: high-S ones among them, normalised
                result, commit = contract.submit_async("CreateAsset", asset, "navy", "2", user, "7")
                assert json.loads(result)["ID"] == asset
                status = commit.status(timeout=60)
                assert status.successful, status
                assert status.code == fabrx.StatusCode.VALID
            assert json.loads(contract.evaluate_transaction("ReadAsset", assets[-1]))["Owner"] == user
