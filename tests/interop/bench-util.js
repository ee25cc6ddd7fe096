'use strict';
// Dependency-free helpers of the Node bench driver (bench-client.js), kept apart so fabrx's unit tests
// can check them with nothing but `node`: low-S normalisation of OpenSSL's ECDSA signatures and the
// percentile definition shared with bench/stats.py.

const CURVE_ORDERS = {
    prime256v1: BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
    secp384r1: BigInt(
        '0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
    ),
};

// --- signatures ---------------------------------------------------------------------------------------

// DER integer: big-endian, minimal, with a 0x00 prefix when the high bit is set.
function derInteger(value) {
    let hex = value.toString(16);
    if (hex.length % 2) {
        hex = '0' + hex;
    }
    let bytes = Buffer.from(hex, 'hex');
    if (bytes[0] & 0x80) {
        bytes = Buffer.concat([Buffer.from([0]), bytes]);
    }
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

function derLength(buffer, offset) {
    const first = buffer[offset];
    if (first < 0x80) {
        return [first, offset + 1];
    }
    const size = first & 0x7f;
    return [buffer.readUIntBE(offset + 1, size), offset + 1 + size];
}

// Fabric rejects ECDSA signatures whose S is in the upper half of the curve order; OpenSSL returns either.
function lowS(signature, order) {
    let [, offset] = derLength(signature, 1);
    const [rLength, rStart] = derLength(signature, offset + 1);
    const r = BigInt('0x' + signature.subarray(rStart, rStart + rLength).toString('hex'));
    offset = rStart + rLength;
    const [sLength, sStart] = derLength(signature, offset + 1);
    const s = BigInt('0x' + signature.subarray(sStart, sStart + sLength).toString('hex'));
    if (s <= order / 2n) {
        return signature;
    }
    const body = Buffer.concat([derInteger(r), derInteger(order - s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

// --- statistics (same definition as bench/stats.py) -----------------------------------------------------

// Linear interpolation between closest ranks (numpy's default); q in [0, 1].
function percentile(sorted, q) {
    if (sorted.length === 0) {
        return null;
    }
    const position = (sorted.length - 1) * q;
    const lower = Math.floor(position);
    const upper = Math.ceil(position);
    return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

function round(value, digits) {
    return value === null ? null : Number(value.toFixed(digits));
}

module.exports = { CURVE_ORDERS, lowS, percentile, round };
