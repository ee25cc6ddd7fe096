'use strict';
// Reference asset chaincode on the official Node contract API (fabric-contract-api 2.5.8).
// Used only by fabrx's interop tests and benchmarks, as the baseline the Python runtime is compared with.
// Same transaction names and JSON shapes as examples/chaincode/asset.py.

const { Contract } = require('fabric-contract-api');

// Compact JSON in a fixed field order, as examples/chaincode/asset.py stores it.
function newAsset(id, color, size, owner, value) {
    return JSON.stringify({ ID: id, Color: color, Size: Number(size), Owner: owner, AppraisedValue: Number(value) });
}

class AssetContract extends Contract {
    constructor() {
        super('asset');
    }

    async _existing(ctx, id) {
        const data = await ctx.stub.getState(id);
        if (!data || data.length === 0) {
            throw new Error(`the asset ${id} does not exist`);
        }
        return data;
    }

    // Writes one key without reading it (overwrites), so it adds no read set: the benchmark's submit.
    async CreateAsset(ctx, id, color, size, owner, value) {
        const asset = newAsset(id, color, size, owner, value);
        await ctx.stub.putState(id, Buffer.from(asset));
        return asset;
    }

    async ReadAsset(ctx, id) {
        return (await this._existing(ctx, id)).toString();
    }

    async UpdateAsset(ctx, id, color, size, owner, value) {
        await this._existing(ctx, id);
        const asset = newAsset(id, color, size, owner, value);
        await ctx.stub.putState(id, Buffer.from(asset));
        return asset;
    }

    async DeleteAsset(ctx, id) {
        await this._existing(ctx, id);
        await ctx.stub.deleteState(id);
    }

    async AssetExists(ctx, id) {
        const data = await ctx.stub.getState(id);
        return data && data.length > 0;
    }

    async TransferAsset(ctx, id, newOwner) {
        const asset = JSON.parse((await this._existing(ctx, id)).toString());
        const oldOwner = String(asset.Owner);
        asset.Owner = newOwner;
        await ctx.stub.putState(id, Buffer.from(JSON.stringify(asset)));
        return oldOwner;
    }

    async GetAllAssets(ctx) {
        const assets = [];
        const iterator = await ctx.stub.getStateByRange('', '');
        try {
            for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
                assets.push(JSON.parse(Buffer.from(next.value.value).toString()));
            }
        } finally {
            await iterator.close();
        }
        return JSON.stringify(assets);
    }

    // The private values travel as transient data (key -> value), so they never appear in the transaction.
    async PutPrivate(ctx, collection) {
        const transient = ctx.stub.getTransient();
        if (!transient || transient.size === 0) {
            throw new Error('PutPrivate needs the private values as transient data (key -> value)');
        }
        const keys = [...transient.keys()].sort();
        for (const key of keys) {
            await ctx.stub.putPrivateData(collection, key, transient.get(key));
        }
        return JSON.stringify(keys);
    }

    async GetPrivate(ctx, collection, key) {
        const value = await ctx.stub.getPrivateData(collection, key);
        if (!value || value.length === 0) {
            throw new Error(`no private data for ${key} in collection ${collection}`);
        }
        return Buffer.from(value).toString();
    }

    async GetPrivateHash(ctx, collection, key) {
        const digest = await ctx.stub.getPrivateDataHash(collection, key);
        if (!digest || digest.length === 0) {
            throw new Error(`no private data hash for ${key} in collection ${collection}`);
        }
        return Buffer.from(digest).toString('hex');
    }

    async CallOther(ctx, chaincode, fn, args) {
        const extra = args ? JSON.parse(args) : [];
        let response;
        try {
            response = await ctx.stub.invokeChaincode(chaincode, [fn, ...extra], '');
        } catch (error) {
            throw new Error(`${chaincode} ${fn} failed: ${error.message}`);
        }
        if (response.status >= 400) {
            throw new Error(`${chaincode} ${fn} failed: ${response.message}`);
        }
        return Buffer.from(response.payload).toString();
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
