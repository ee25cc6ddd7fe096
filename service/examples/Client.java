// A fabrx pharma service client in plain Java 11+ (java.net.http and java.security, no libraries, no
// build tool): signs each request with RSA-PSS, RSA PKCS#1 v1.5 or ECDSA P-256/P-384 as docs/service.md
// describes (RFC 9421 HTTP Message Signatures, RFC 9530 Content-Digest).
//
//   FABRX_SERVICE_CA=server.crt java Client.java METHOD URL APP_ID PRIVATE_KEY.pem [BODY.json]
//
// (source-file mode: no javac step; or javac Client.java && java Client ...). The private key is PKCS#8
// PEM ("BEGIN PRIVATE KEY", as openssl genpkey writes it). Environment: IDEMPOTENCY_KEY (optional,
// covered by the signature), FABRX_SIGNATURE_ALG (default by key type: rsa-pss-sha512,
// ecdsa-p256-sha256 or ecdsa-p384-sha384). Prints {"status": <HTTP status>, "body": <the JSON answer>}
// on one line.

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.PSSParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public final class Client {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Client() {}

    /** The headers that sign one request: Signature-Input, Signature, and Content-Digest when there is a body. */
    public static Map<String, String> signatureHeaders(
            String method, URI url, String appId, PrivateKey key, byte[] body, String idempotencyKey, String algorithm)
            throws Exception {
        String alg = algorithm != null ? algorithm : defaultAlgorithm(key);
        List<String[]> lines = new ArrayList<>();
        lines.add(new String[] {"@method", method.toUpperCase()});
        lines.add(new String[] {"@path", url.getRawPath()});
        lines.add(new String[] {"@query", url.getRawQuery() == null ? "?" : "?" + url.getRawQuery()});
        Map<String, String> headers = new LinkedHashMap<>();
        if (idempotencyKey != null && !idempotencyKey.isEmpty()) {
            lines.add(new String[] {"idempotency-key", idempotencyKey});
            headers.put("Idempotency-Key", idempotencyKey);
        }
        if (body.length > 0) {
            byte[] sha256 = MessageDigest.getInstance("SHA-256").digest(body);
            String digest = "sha-256=:" + Base64.getEncoder().encodeToString(sha256) + ":";
            lines.add(new String[] {"content-digest", digest});
            headers.put("Content-Digest", digest);
            headers.put("Content-Type", "application/json");
        }
        long created = System.currentTimeMillis() / 1000;
        byte[] nonceBytes = new byte[18];
        RANDOM.nextBytes(nonceBytes);
        String nonce = Base64.getUrlEncoder().withoutPadding().encodeToString(nonceBytes);
        StringBuilder covered = new StringBuilder();
        StringBuilder base = new StringBuilder();
        for (String[] line : lines) {
            covered.append(covered.length() == 0 ? "" : " ").append('"').append(line[0]).append('"');
            base.append('"').append(line[0]).append("\": ").append(line[1]).append('\n');
        }
        String params = "(" + covered + ");created=" + created + ";keyid=\"" + appId + "\";alg=\"" + alg
                + "\";nonce=\"" + nonce + "\"";
        base.append("\"@signature-params\": ").append(params);
        byte[] signature = sign(alg, key, base.toString().getBytes(StandardCharsets.US_ASCII));
        headers.put("Signature-Input", "sig1=" + params);
        headers.put("Signature", "sig1=:" + Base64.getEncoder().encodeToString(signature) + ":");
        return headers;
    }

    static String defaultAlgorithm(PrivateKey key) {
        if (key instanceof ECPrivateKey ec) {
            return ec.getParams().getCurve().getField().getFieldSize() == 384 ? "ecdsa-p384-sha384" : "ecdsa-p256-sha256";
        }
        return "rsa-pss-sha512";
    }

    static byte[] sign(String alg, PrivateKey key, byte[] base) throws Exception {
        Signature signer;
        switch (alg) {
            case "ecdsa-p256-sha256" -> signer = Signature.getInstance("SHA256withECDSAinP1363Format"); // r || s
            case "ecdsa-p384-sha384" -> signer = Signature.getInstance("SHA384withECDSAinP1363Format");
            case "rsa-pss-sha512" -> {
                signer = Signature.getInstance("RSASSA-PSS");
                signer.setParameter(new PSSParameterSpec("SHA-512", "MGF1", MGF1ParameterSpec.SHA512, 64, 1));
            }
            case "rsa-v1_5-sha256" -> signer = Signature.getInstance("SHA256withRSA");
            default -> throw new IllegalArgumentException("unsupported algorithm " + alg);
        }
        signer.initSign(key);
        signer.update(base);
        return signer.sign();
    }

    /** A PKCS#8 PEM private key (RSA or EC). */
    public static PrivateKey readPrivateKey(Path file) throws Exception {
        String pem = Files.readString(file, StandardCharsets.US_ASCII);
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < 0) {
            throw new IllegalArgumentException(file + " is not a PKCS#8 PEM private key (BEGIN PRIVATE KEY)");
        }
        String encoded = pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end).replaceAll("\\s", "");
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(encoded));
        try {
            return KeyFactory.getInstance("RSA").generatePrivate(spec);
        } catch (java.security.spec.InvalidKeySpecException notRsa) {
            return KeyFactory.getInstance("EC").generatePrivate(spec);
        }
    }

    /** An HTTPS client that trusts only the certificates in {@code caFile} (the service's CA). */
    public static HttpClient httpClient(Path caFile) throws Exception {
        KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
        trusted.load(null, null);
        try (InputStream in = Files.newInputStream(caFile)) {
            int i = 0;
            for (var certificate : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trusted.setCertificateEntry("ca" + i++, certificate);
            }
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, trust.getTrustManagers(), null);
        return HttpClient.newBuilder()
                .sslContext(tls)
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(30))
                .build();
    }

    /** Sign and send one request; the answer's status and body. */
    public static HttpResponse<String> send(
            HttpClient client, String method, URI url, String appId, PrivateKey key, byte[] body, String idempotencyKey,
            String algorithm) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(url)
                .timeout(Duration.ofMinutes(2))
                .method(
                        method.toUpperCase(),
                        body.length > 0 ? HttpRequest.BodyPublishers.ofByteArray(body) : HttpRequest.BodyPublishers.noBody());
        for (var header : signatureHeaders(method, url, appId, key, body, idempotencyKey, algorithm).entrySet()) {
            request.header(header.getKey(), header.getValue());
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: FABRX_SERVICE_CA=ca.pem java Client.java METHOD URL APP_ID PRIVATE_KEY.pem [BODY.json]");
            System.exit(2);
        }
        String ca = System.getenv("FABRX_SERVICE_CA");
        if (ca == null) {
            System.err.println("FABRX_SERVICE_CA must name the certificate of the service's CA");
            System.exit(2);
        }
        byte[] body = args.length > 4 ? Files.readAllBytes(Path.of(args[4])) : new byte[0];
        HttpResponse<String> answer = send(
                httpClient(Path.of(ca)),
                args[0],
                URI.create(args[1]),
                args[2],
                readPrivateKey(Path.of(args[3])),
                body,
                System.getenv("IDEMPOTENCY_KEY"),
                System.getenv("FABRX_SIGNATURE_ALG"));
        String text = answer.body();
        // The service answers JSON (or nothing): it is printed as it came.
        System.out.println("{\"status\": " + answer.statusCode() + ", \"body\": " + (text.isEmpty() ? "null" : text) + "}");
    }
}
