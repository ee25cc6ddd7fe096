// A fabrx pharma service client in plain Node (no packages): signs each request with ECDSA P-256
// (or RSA-PSS) as docs/service.md describes (RFC 9421 HTTP Message Signatures, RFC 9530 Content-Digest).
//
//   FABRX_SERVICE_CA=server.crt node client.mjs METHOD URL APP_ID PRIVATE_KEY.pem [BODY.json]
//
// Environment: IDEMPOTENCY_KEY (optional, covered by the signature), FABRX_SIGNATURE_ALG (default by
// key type: ecdsa-p256-sha256, ecdsa-p384-sha384 or rsa-pss-sha512).
// Prints {"status": <HTTP status>, "body": <parsed JSON answer>} on one line.
import { createHash, createPrivateKey, randomBytes, sign, constants } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:https";

export function signatureHeaders({ method, url, appId, privateKey, body, idempotencyKey, algorithm }) {
  const target = new URL(url);
  const key = createPrivateKey(privateKey);
  const alg = algorithm ?? defaultAlgorithm(key);
  const lines = [
    ["@method", method.toUpperCase()],
    ["@path", target.pathname],
    ["@query", target.search === "" ? "?" : target.search],
  ];
  const headers = {};
  if (idempotencyKey) {
    lines.push(["idempotency-key", idempotencyKey]);
    headers["Idempotency-Key"] = idempotencyKey;
  }
  if (body && body.length > 0) {
    const digest = `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
    lines.push(["content-digest", digest]);
    headers["Content-Digest"] = digest;
    headers["Content-Type"] = "application/json";
  }
  const created = Math.floor(Date.now() / 1000);
  const nonce = randomBytes(18).toString("base64url");
  const covered = lines.map(([name]) => `"${name}"`).join(" ");
  const params = `(${covered});created=${created};keyid="${appId}";alg="${alg}";nonce="${nonce}"`;
  const base = [...lines.map(([name, value]) => `"${name}": ${value}`), `"@signature-params": ${params}`].join("\n");
  const signature = signBase(alg, key, Buffer.from(base, "ascii"));
  headers["Signature-Input"] = `sig1=${params}`;
  headers["Signature"] = `sig1=:${signature.toString("base64")}:`;
  return headers;
}

function defaultAlgorithm(key) {
  if (key.asymmetricKeyType === "rsa") return "rsa-pss-sha512";
  return key.asymmetricKeyDetails.namedCurve === "secp384r1" ? "ecdsa-p384-sha384" : "ecdsa-p256-sha256";
}

function signBase(alg, key, base) {
  switch (alg) {
    case "ecdsa-p256-sha256": // RFC 9421 wants r || s, not DER
      return sign("sha256", base, { key, dsaEncoding: "ieee-p1363" });
    case "ecdsa-p384-sha384":
      return sign("sha384", base, { key, dsaEncoding: "ieee-p1363" });
    case "rsa-pss-sha512":
      return sign("sha512", base, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 });
    case "rsa-v1_5-sha256":
      return sign("sha256", base, key);
    default:
      throw new Error(`unsupported algorithm ${alg}`);
  }
}

export function send({ method, url, headers, body, ca }) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null });
      });
    });
    req.on("error", reject);
    if (body && body.length > 0) req.write(body);
    req.end();
  });
}

async function main(argv) {
  if (argv.length < 4) {
    console.error("usage: FABRX_SERVICE_CA=ca.pem node client.mjs METHOD URL APP_ID PRIVATE_KEY.pem [BODY.json]");
    process.exit(2);
  }
  const [method, url, appId, keyFile, bodyFile] = argv;
  const body = bodyFile ? readFileSync(bodyFile) : Buffer.alloc(0);
  const headers = signatureHeaders({
    method,
    url,
    appId,
    privateKey: readFileSync(keyFile),
    body,
    idempotencyKey: process.env.IDEMPOTENCY_KEY,
    algorithm: process.env.FABRX_SIGNATURE_ALG,
  });
  const ca = readFileSync(process.env.FABRX_SERVICE_CA);
  const answer = await send({ method, url, headers, body, ca });
  console.log(JSON.stringify(answer));
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error.message);
  process.exit(1);
});
