"""Signed requests (RFC 9421 + Content-Digest): what the service accepts and every way it refuses."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from service_fakes import ec_key, public_pem, rsa_key

from fabrx_pharma_service import (
    Application,
    ApplicationRegistry,
    CredentialError,
    RequestVerifier,
    ServiceState,
    Unauthenticated,
    sign_request,
)

URL = "https://service.example:8443/v1/receipts?dry=1"
BODY = b'{"receipt_id": "R-1"}'


@pytest.fixture
def registry(tmp_path: Path) -> ApplicationRegistry:
    registry = ApplicationRegistry(tmp_path / "apps" / "applications.json")
    registry.add(
        Application.new("erp-rsa", role="hospital", identity="client", public_key_pem=public_pem(rsa_key()))
    )
    registry.add(
        Application.new("erp-ec", role="distributor", identity="erp", public_key_pem=public_pem(ec_key()))
    )
    return registry


@pytest.fixture
def verifier(registry: ApplicationRegistry, tmp_path: Path) -> RequestVerifier:
    return RequestVerifier(registry, ServiceState(tmp_path / "state.sqlite"))


def signed(
    key_id: str = "erp-rsa",
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    *,
    algorithm: str = "rsa-pss-sha512",
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    headers: dict[str, str] | None = None,
    **options: object,
) -> list[tuple[str, str]]:
    extra = dict(headers or {})
    extra.update(
        sign_request(
            method,
            url,
            extra,
            body,
            key_id=key_id,
            private_key=key or rsa_key(),
            algorithm=algorithm,
            **options,
        )  # type: ignore[arg-type]
    )
    return list(extra.items())


def refusal(verifier: RequestVerifier, headers: list[tuple[str, str]], **changes: object) -> Unauthenticated:
    request = {"method": "POST", "url": URL, "headers": headers, "body": BODY, **changes}
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(**request)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    ("algorithm", "curve"),
    [
        ("rsa-pss-sha512", None),
        ("rsa-v1_5-sha256", None),
        ("ecdsa-p256-sha256", "p256"),
        ("ecdsa-p384-sha384", "p384"),
    ],
)
def test_each_registered_algorithm_verifies_and_names_the_application(
    tmp_path: Path, algorithm: str, curve: str | None
) -> None:
    key = rsa_key() if curve is None else ec_key(curve)
    registry = ApplicationRegistry(tmp_path / "applications.json")
    registry.add(
        Application.new(
            "app", role="manufacturer", identity="client", public_key_pem=public_pem(key), algorithm=algorithm
        )
    )
    verifier = RequestVerifier(registry, ServiceState(tmp_path / "state.sqlite"))
    verified = verifier.verify("POST", URL, signed("app", key, algorithm=algorithm), BODY)
    assert verified.application.app_id == "app" and verified.application.algorithm == algorithm


def test_the_signature_covers_method_path_query_and_the_body_digest() -> None:
    headers = dict(signed(headers={"Idempotency-Key": "k-1"}))
    assert headers["Content-Digest"].startswith("sha-256=:")
    assert headers["Signature-Input"].startswith(
        'sig1=("@method" "@path" "@query" "idempotency-key" "content-digest");created='
    )
    assert 'keyid="erp-rsa"' in headers["Signature-Input"] and "nonce=" in headers["Signature-Input"]


def test_an_unsigned_request_is_refused(verifier: RequestVerifier) -> None:
    error = refusal(verifier, [("Content-Type", "application/json")])
    assert (error.status, error.code, error.field) == (401, "UNSIGNED", "Signature")


def test_a_signature_made_with_another_key_is_refused(verifier: RequestVerifier) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refusal(verifier, signed(key=other)).code == "SIGNATURE"


def test_a_changed_body_path_query_or_method_is_refused(verifier: RequestVerifier) -> None:
    headers = signed()
    assert refusal(verifier, headers, body=b'{"receipt_id": "R-2"}').field == "Content-Digest"
    assert refusal(verifier, headers, url=URL.replace("receipts", "invoices")).code == "SIGNATURE"
    assert refusal(verifier, headers, url=URL.replace("dry=1", "dry=0")).code == "SIGNATURE"
    assert refusal(verifier, headers, method="PUT").code == "SIGNATURE"
    verifier.verify("POST", URL, headers, BODY)  # the untouched request still verifies (nonce unused)


def test_a_body_without_a_signed_digest_is_refused(verifier: RequestVerifier) -> None:
    headers = signed(body=b"")
    assert refusal(verifier, headers).field == "Content-Digest"


def test_an_unsigned_idempotency_key_is_refused(verifier: RequestVerifier) -> None:
    headers = [*signed(), ("Idempotency-Key", "k-1")]
    error = refusal(verifier, headers)
    assert error.code == "SIGNATURE" and "idempotency-key" in error.message


def test_a_replayed_nonce_is_refused(verifier: RequestVerifier) -> None:
    headers = signed()
    verifier.verify("POST", URL, headers, BODY)
    error = refusal(verifier, headers)
    assert (error.code, error.field) == ("REPLAYED", "nonce")


def test_nonces_are_per_application(verifier: RequestVerifier) -> None:
    verifier.verify("POST", URL, signed(nonce="same"), BODY)
    verifier.verify(
        "POST", URL, signed("erp-ec", ec_key(), algorithm="ecdsa-p256-sha256", nonce="same"), BODY
    )


def test_a_signature_without_a_nonce_is_refused(verifier: RequestVerifier) -> None:
    headers = [(k, v.replace(';nonce="abc"', "")) for k, v in signed(nonce="abc")]
    # Removing the nonce breaks the signature itself; a client that never sends one fails the same way.
    assert refusal(verifier, headers).code in ("SIGNATURE", "NONCE")


def test_clock_skew_and_expired_signatures_are_refused(verifier: RequestVerifier) -> None:
    now = datetime.now(UTC)
    ahead = refusal(verifier, signed(created=now + timedelta(minutes=2)))
    assert (ahead.code, ahead.field) == ("CLOCK_SKEW", "created")
    old = refusal(verifier, signed(created=now - timedelta(minutes=6)))
    assert (old.code, old.field) == ("EXPIRED", "created")
    verifier.verify("POST", URL, signed(created=now - timedelta(seconds=20)), BODY)  # within the skew


def test_an_unknown_application_is_refused(verifier: RequestVerifier) -> None:
    error = refusal(verifier, signed("erp-unknown"))
    assert (error.code, error.field) == ("UNKNOWN_KEY", "keyid")


def test_a_signature_with_another_algorithm_than_registered_is_refused(verifier: RequestVerifier) -> None:
    assert refusal(verifier, signed(algorithm="rsa-v1_5-sha256")).code == "SIGNATURE"


def test_two_signatures_or_a_malformed_signature_input_are_refused(verifier: RequestVerifier) -> None:
    headers = dict(signed())
    doubled = [
        (
            "Signature-Input",
            headers["Signature-Input"] + ", " + headers["Signature-Input"].replace("sig1", "sig2"),
        ),
        ("Signature", headers["Signature"] + ", " + headers["Signature"].replace("sig1", "sig2")),
        ("Content-Digest", headers["Content-Digest"]),
    ]
    assert refusal(verifier, doubled).field == "Signature-Input"
    assert refusal(verifier, [("Signature-Input", "((("), ("Signature", "x")]).field == "Signature-Input"


def test_registrations_are_checked(tmp_path: Path) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cases = [
        ({"app_id": "bad id"}, "application id"),
        ({"role": "pharmacy"}, "role"),
        ({"public_key_pem": b"not a key"}, "public key"),
        ({"public_key_pem": public_pem(small)}, "2048"),
        ({"public_key_pem": public_pem(ec_key()), "algorithm": "ecdsa-p384-sha384"}, "signs with ecdsa-p256"),
        ({"algorithm": "hmac-sha256"}, "algorithm"),
    ]
    for change, text in cases:
        options: dict[str, object] = {
            "app_id": "erp",
            "role": "hospital",
            "identity": "client",
            "public_key_pem": public_pem(rsa_key()),
            **change,
        }
        app_id = options.pop("app_id")
        with pytest.raises(CredentialError, match=text):
            Application.new(app_id, **options)  # type: ignore[arg-type]


def test_the_registry_is_a_file_only_its_owner_reads(registry: ApplicationRegistry, tmp_path: Path) -> None:
    assert stat.S_IMODE(registry.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(registry.path.parent.stat().st_mode) == 0o700
    assert [a.app_id for a in registry] == ["erp-ec", "erp-rsa"]
    with pytest.raises(CredentialError, match="already registered"):
        registry.add(
            Application.new("erp-ec", role="hospital", identity="x", public_key_pem=public_pem(ec_key()))
        )
    registry.remove("erp-ec")
    assert ApplicationRegistry(registry.path).get("erp-ec") is None
    with pytest.raises(CredentialError, match="no application"):
        registry.remove("erp-ec")


def test_a_revoked_application_is_refused_by_a_running_verifier(
    registry: ApplicationRegistry, verifier: RequestVerifier
) -> None:
    verifier.verify("POST", URL, signed(), BODY)
    registry.remove("erp-rsa")
    assert refusal(verifier, signed()).code == "UNKNOWN_KEY"
