'use strict';
// Interop driver: the official Node Gateway client (@hyperledger/fabric-gateway) makes the calls that
// tests/integration/test_interop.py asks for, so the test can check that what fabrx wrote, Node reads,
// and the other way round. Reference implementation only; never part of the product.
//
// Usage: node tests/interop/gateway-call.js < CONFIG.json
// Config: {peer_address, tls_root_cert_path, msp_id, cert_path, key_path, channel, chaincode,
//          calls: [{type: "submit" | "evaluate", name, args: [..],
//                   transient?: {key: "<utf-8 value>"}, endorsing_organizations?: [mspId, ..]}]}
// Output: one JSON object: {"results": [{"ok": true, "result": "<utf-8>"} | {"ok": false, "error": "..."}]}

const crypto = require('node:crypto');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const { connect, hash, signers } = require('@hyperledger/fabric-gateway');

async function main() {
    const config = JSON.parse(fs.readFileSync(0, 'utf8'));
    const credentials = grpc.credentials.createSsl(fs.readFileSync(config.tls_root_cert_path));
    const client = new grpc.Client(config.peer_address, credentials);
    const gateway = connect({
        client,
        identity: { mspId: config.msp_id, credentials: fs.readFileSync(config.cert_path) },
        signer: signers.newPrivateKeySigner(crypto.createPrivateKey(fs.readFileSync(config.key_path))),
        hash: hash.sha256,
    });
    const results = [];
    try {
        const contract = gateway.getNetwork(config.channel).getContract(config.chaincode);
        for (const call of config.calls) {
            try {
                const options = { arguments: call.args || [] };
                if (call.transient) {
                    options.transientData = Object.fromEntries(
                        Object.entries(call.transient).map(([key, value]) => [key, Buffer.from(value)]));
                }
                if (call.endorsing_organizations) {
                    options.endorsingOrganizations = call.endorsing_organizations;
                }
                const bytes = call.type === 'submit'
                    ? await contract.submit(call.name, options)
                    : await contract.evaluate(call.name, options);
                results.push({ ok: true, result: Buffer.from(bytes).toString('utf8') });
            } catch (err) {
                const details = (err && err.details ? err.details : []).map((d) => `${d.address} (${d.mspId}): ${d.message}`);
                results.push({ ok: false, error: String(err && err.message ? err.message : err), details });
            }
        }
    } finally {
        gateway.close();
        client.close();
    }
    process.stdout.write(JSON.stringify({ results }) + '\n');
}

main().catch((err) => {
    process.stderr.write(`gateway-call: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
});
