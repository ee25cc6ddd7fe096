'use strict';
// Reference asset chaincode on the official Node contract API (fabric-contract-api 2.5.8).
// Used only by fabrx's interop tests and benchmarks, as the baseline the Python runtime is compared with.
// Same transaction names and JSON shapes as examples/chaincode/asset.py.

const { Contract } = require('fabric-contract-api');

class AssetContract extends Contract {
    constructor() {
        super('asset');
    }

    async CreateAsset(ctx, id, color, size, owner, value) {
        const asset = { ID: id, Color: color, Size: Number(size), Owner: owner, AppraisedValue: Number(value) };
        await ctx.stub.putState(id, Buffer.from(JSON.stringify(asset)));
        return JSON.stringify(asset);
    }

    async ReadAsset(ctx, id) {
        const data = await ctx.stub.getState(id);
        if (!data || data.length === 0) {
            throw new Error(`the asset ${id} does not exist`);
        }
        return data.toString();
    }

    async AssetExists(ctx, id) {
        const data = await ctx.stub.getState(id);
        return data && data.length > 0;
    }

    async EmitEvent(ctx, name, payload) {
        ctx.stub.setEvent(name, Buffer.from(payload));
        return payload;
    }

    async Fail(ctx, message) {
        throw new Error(message);
    }
}

module.exports.contracts = [AssetContract];
