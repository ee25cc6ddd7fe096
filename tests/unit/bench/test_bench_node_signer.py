"""The Node driver's OpenSSL signer must hand Fabric low-S signatures, as Fabric rejects high-S ones."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

UTIL_JS = Path(__file__).resolve().parents[3] / "tests" / "interop" / "bench-util.js"
ORDERS = {
    "secp256r1": ("prime256v1", 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551),
    "secp384r1": (
        "secp384r1",
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
    ),
}


def _node_low_s(signatures: list[bytes], curve: str) -> list[bytes]:
    node = shutil.which("node")
    assert node is not None, "node is needed: the Node bench driver is part of the benchmarks"
    script = (
        f"const u = require({json.dumps(str(UTIL_JS))});"
        "const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const order = u.CURVE_ORDERS[input.curve];"
        "console.log(JSON.stringify(input.signatures.map("
        "(hex) => u.lowS(Buffer.from(hex, 'hex'), order).toString('hex'))));"
    )
    payload = json.dumps({"curve": curve, "signatures": [s.hex() for s in signatures]})
    completed = subprocess.run(
        [node, "-e", script], input=payload, capture_output=True, text=True, check=True, timeout=20
    )
    return [bytes.fromhex(h) for h in json.loads(completed.stdout)]


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=lambda c: c.name)
def test_low_s_flips_high_s_signatures_and_keeps_them_valid(curve: ec.EllipticCurve) -> None:
    node_curve, order = ORDERS[curve.name]
    algorithm = hashes.SHA256() if curve.name == "secp256r1" else hashes.SHA384()
    key = ec.generate_private_key(curve)
    message = b"fabrx bench"
    low, high = [], []
    for _ in range(8):
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(algorithm)))
        s = min(s, order - s)
        low.append(encode_dss_signature(r, s))
        high.append(encode_dss_signature(r, order - s))  # equally valid ECDSA, rejected by Fabric

    normalised = _node_low_s(high + low, node_curve)

    assert normalised == low + low
    for signature in normalised:
        key.public_key().verify(signature, message, ec.ECDSA(algorithm))  # raises if invalid
        assert decode_dss_signature(signature)[1] <= order // 2
