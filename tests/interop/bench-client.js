'use strict';
// Closed-loop load driver on the official Node Gateway client (@hyperledger/fabric-gateway 1.11), the
// baseline that fabrx's own client is compared with in `make bench` (bench/ at the repository root).
//
// Usage: node tests/interop/bench-client.js CONFIG.json      (or the JSON on standard input)
//
// Config (snake_case, as written by bench/load.py's LoadConfig):
//   peer_address, tls_root_cert_path, server_name (optional), msp_id, cert_path, key_path,
//   channel, chaincode, contract (optional), signer: "default" | "openssl", mode: "submit" | "evaluate",
//   concurrency, duration_s or count, warmup_s, run_id (makes CreateAsset ids unique across runs)
//
// Output, one JSON object a line on standard output:
//   {"event": "window_start"}  when the measured window opens (after warmup),
//   {"event": "window_end"}    when it closes (the orchestrator samples server CPU at both),
//   {"event": "result", ...}   count, errors, elapsed_s, tps, latency_ms {p50, p95, mean, max} and this
//                              process's CPU time in the window (process.cpuUsage), then the process exits.
// Nothing else is written to standard output; diagnostics go to standard error.

const crypto = require('node:crypto');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const { connect, hash, signers } = require('@hyperledger/fabric-gateway');
const { CURVE_ORDERS, lowS, percentile, round } = require('./bench-util');

function readConfig() {
    const source = process.argv[2] ? fs.readFileSync(process.argv[2], 'utf8') : fs.readFileSync(0, 'utf8');
    const config = JSON.parse(source);
    for (const key of ['peer_address', 'tls_root_cert_path', 'msp_id', 'cert_path', 'key_path', 'channel',
        'chaincode', 'mode', 'concurrency', 'run_id']) {
        if (config[key] === undefined) {
            throw new Error(`bench config lacks "${key}"`);
        }
    }
    if (!['submit', 'evaluate'].includes(config.mode)) {
        throw new Error(`bench config "mode" must be "submit" or "evaluate", got ${JSON.stringify(config.mode)}`);
    }
    if ((config.duration_s === undefined) === (config.count === undefined)) {
        throw new Error('bench config needs exactly one of "duration_s" and "count"');
    }
    return { signer: 'default', warmup_s: 2, ...config };
}

// --- signing -----------------------------------------------------------------------------------------

// Node's crypto.sign always hashes its input for EC keys (a null algorithm means SHA-256, not "prehashed"),
// so the OpenSSL signer takes the whole message (hash.none) and lets OpenSSL do SHA-256 and ECDSA in one call.
function newSigning(kind, privateKey) {
    if (kind === 'default') {
        return { signer: signers.newPrivateKeySigner(privateKey), hash: hash.sha256 };
    }
    if (kind !== 'openssl') {
        throw new Error(`bench config "signer" must be "default" or "openssl", got ${JSON.stringify(kind)}`);
    }
    const curve = privateKey.asymmetricKeyDetails.namedCurve;
    const order = CURVE_ORDERS[curve];
    if (!order) {
        throw new Error(`the OpenSSL signer supports P-256 and P-384 keys, not ${curve}`);
    }
    const digestName = curve === 'secp384r1' ? 'sha384' : 'sha256';
    const signer = async (message) => lowS(crypto.sign(digestName, message, { key: privateKey, dsaEncoding: 'der' }), order);
    return { signer, hash: hash.none };
}

// --- load ----------------------------------------------------------------------------------------------

function emit(object) {
    process.stdout.write(JSON.stringify(object) + '\n');
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function deadline(seconds) {
    return () => ({ deadline: Date.now() + seconds * 1000 });
}

async function run(config) {
    const tlsRootCert = fs.readFileSync(config.tls_root_cert_path);
    const options = {};
    if (config.server_name) {
        options['grpc.ssl_target_name_override'] = config.server_name;
    }
    const client = new grpc.Client(config.peer_address, grpc.credentials.createSsl(tlsRootCert), options);
    const privateKey = crypto.createPrivateKey(fs.readFileSync(config.key_path));
    const { signer, hash: digest } = newSigning(config.signer, privateKey);
    const gateway = connect({
        client,
        identity: { mspId: config.msp_id, credentials: fs.readFileSync(config.cert_path) },
        signer,
        hash: digest,
        evaluateOptions: deadline(5),
        endorseOptions: deadline(15),
        submitOptions: deadline(5),
        commitStatusOptions: deadline(60),
    });
    try {
        const network = gateway.getNetwork(config.channel);
        const contract = config.contract
            ? network.getContract(config.chaincode, config.contract)
            : network.getContract(config.chaincode);
        return await load(config, contract);
    } finally {
        gateway.close();
        client.close();
    }
}

function newAsset(id) {
    // About 100 bytes of JSON once the chaincode stores it.
    return [id, 'blue', '5', 'Tomoko Yamada', '300'];
}

async function load(config, contract) {
    const seedId = `${config.run_id}-seed`;
    let operation;
    if (config.mode === 'evaluate') {
        await contract.submitTransaction('CreateAsset', ...newAsset(seedId));
        operation = () => contract.evaluateTransaction('ReadAsset', seedId);
    } else {
        operation = (worker, sequence) =>
            contract.submitTransaction('CreateAsset', ...newAsset(`${config.run_id}-${worker}-${sequence}`));
    }

    const latencies = [];
    let errors = 0;
    let firstError = null;
    let windowStart = null;
    let windowEnd = null;
    let cpuStart = null;
    let stopping = false;

    const closeWindow = () => {
        if (windowEnd === null) {
            windowEnd = performance.now();
            stopping = true;
        }
    };

    async function worker(index) {
        let sequence = 0;
        while (!stopping) {
            const started = performance.now();
            try {
                await operation(index, sequence++);
            } catch (error) {
                if (windowStart !== null && windowEnd === null) {
                    errors += 1;
                    firstError = firstError ?? `${error.constructor.name}: ${error.message}`;
                }
                continue;
            }
            // A completion inside the window counts, whenever it started: in a steady closed loop that
            // neither drops the transactions in flight at the window's edges nor counts them twice.
            const ended = performance.now();
            if (windowStart !== null && windowEnd === null && ended >= windowStart) {
                latencies.push(ended - started);
                if (config.count !== undefined && latencies.length >= config.count) {
                    closeWindow();
                }
            }
        }
    }

    const workers = Array.from({ length: config.concurrency }, (_, index) => worker(index));
    await sleep(config.warmup_s * 1000);
    cpuStart = process.cpuUsage();
    windowStart = performance.now();
    emit({ event: 'window_start' });
    if (config.duration_s !== undefined) {
        await sleep(config.duration_s * 1000);
        closeWindow();
    }
    await waitFor(() => windowEnd !== null);
    const cpu = process.cpuUsage(cpuStart);
    emit({ event: 'window_end' });
    stopping = true;
    await Promise.all(workers);

    const elapsed = (windowEnd - windowStart) / 1000;
    const sorted = [...latencies].sort((a, b) => a - b);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    return {
        event: 'result',
        client: config.signer === 'openssl' ? 'node_openssl' : 'node',
        mode: config.mode,
        concurrency: config.concurrency,
        count: latencies.length,
        errors,
        first_error: firstError,
        elapsed_s: round(elapsed, 3),
        tps: round(latencies.length / elapsed, 1),
        latency_ms: {
            p50: round(percentile(sorted, 0.5), 2),
            p95: round(percentile(sorted, 0.95), 2),
            mean: round(sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null, 2),
            max: round(sorted.length ? sorted[sorted.length - 1] : null, 2),
        },
        cpu_ms: { user: round(cpu.user / 1000, 1), system: round(cpu.system / 1000, 1), total: round(cpuMs, 1) },
        cpu_ms_per_tx: round(latencies.length ? cpuMs / latencies.length : null, 3),
    };
}

async function waitFor(condition) {
    while (!condition()) {
        await sleep(5);
    }
}

run(readConfig())
    .then((result) => {
        emit(result);
        process.exit(0);
    })
    .catch((error) => {
        process.stderr.write(`bench-client: ${error.stack ?? error}\n`);
        process.exit(1);
    });
