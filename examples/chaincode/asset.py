"""Asset transfer on fabrx_chaincode: the contract used by fabrx's integration tests and benchmarks.

Transaction names and JSON shapes match the Node reference chaincode (tests/interop/chaincode) and
Fabric's asset-transfer-basic sample: an asset is stored under its id as compact JSON
``{"ID","Color","Size","Owner","AppraisedValue"}``.

Serve it with ``python -m fabrx_chaincode asset:AssetContract`` (with ``examples/chaincode`` on
``PYTHONPATH``). Besides the basic asset transactions it exercises private data (``PutPrivate`` reads
the values from transient data), chaincode events, a call to another chaincode and a failing
transaction.
"""

from __future__ import annotations

import json
from typing import Any

from fabrx_chaincode import (
    Context,
    Contract,
    InvalidArgumentError,
    TransactionError,
    evaluate,
    submit,
)


def _asset_json(asset_id: str, color: str, size: int, owner: str, value: int) -> str:
    asset = {"ID": asset_id, "Color": color, "Size": size, "Owner": owner, "AppraisedValue": value}
    return json.dumps(asset, separators=(",", ":"), ensure_ascii=False)


class AssetContract(Contract):
    """Create, read, update, transfer and delete assets; private data, events and cross-chaincode calls."""

    name = "asset"
    version = "1.0"

    async def _existing(self, ctx: Context, asset_id: str) -> bytes:
        data = await ctx.stub.get_state(asset_id)
        if not data:
            raise TransactionError(f"the asset {asset_id} does not exist")
        return data

    @submit
    async def CreateAsset(self, ctx: Context, id: str, color: str, size: int, owner: str, value: int) -> str:
        """Write the asset (one key) and return its JSON; like the Node reference, it overwrites."""
        asset = _asset_json(id, color, size, owner, value)
        await ctx.stub.put_state(id, asset.encode())
        return asset

    @evaluate
    async def ReadAsset(self, ctx: Context, id: str) -> bytes:
        """The asset's JSON; fails when it does not exist."""
        return await self._existing(ctx, id)

    @submit
    async def UpdateAsset(self, ctx: Context, id: str, color: str, size: int, owner: str, value: int) -> str:
        """Replace an existing asset; fails when it does not exist."""
        await self._existing(ctx, id)
        asset = _asset_json(id, color, size, owner, value)
        await ctx.stub.put_state(id, asset.encode())
        return asset

    @submit
    async def DeleteAsset(self, ctx: Context, id: str) -> None:
        """Delete an existing asset; fails when it does not exist."""
        await self._existing(ctx, id)
        await ctx.stub.delete_state(id)

    @evaluate
    async def AssetExists(self, ctx: Context, id: str) -> bool:
        """Whether the asset exists."""
        return bool(await ctx.stub.get_state(id))

    @submit
    async def TransferAsset(self, ctx: Context, id: str, new_owner: str) -> str:
        """Give the asset a new owner and return the previous owner."""
        asset = json.loads(await self._existing(ctx, id))
        old_owner = str(asset["Owner"])
        asset["Owner"] = new_owner
        await ctx.stub.put_state(id, json.dumps(asset, separators=(",", ":"), ensure_ascii=False).encode())
        return old_owner

    @evaluate
    async def GetAllAssets(self, ctx: Context) -> list[dict[str, Any]]:
        """Every asset, in key order (an open range query)."""
        async with await ctx.stub.get_state_by_range("", "") as results:
            return [json.loads(kv.value) async for kv in results]

    @submit
    async def PutPrivate(self, ctx: Context, collection: str) -> list[str]:
        """Write each transient data entry (key -> value) into ``collection``; returns the keys written.

        The values travel as transient data so they never appear in the transaction.
        """
        transient = ctx.stub.transient
        if not transient:
            raise InvalidArgumentError("PutPrivate needs the private values as transient data (key -> value)")
        for key, value in sorted(transient.items()):
            await ctx.stub.put_private_data(collection, key, value)
        return sorted(transient)

    @evaluate
    async def GetPrivate(self, ctx: Context, collection: str, key: str) -> bytes:
        """A private value; fails when this peer holds none for ``key``."""
        value = await ctx.stub.get_private_data(collection, key)
        if not value:
            raise TransactionError(f"no private data for {key} in collection {collection}")
        return value

    @evaluate
    async def GetPrivateHash(self, ctx: Context, collection: str, key: str) -> str:
        """The hex SHA-256 of a private value, readable by organizations outside the collection."""
        digest = await ctx.stub.get_private_data_hash(collection, key)
        if not digest:
            raise TransactionError(f"no private data hash for {key} in collection {collection}")
        return digest.hex()

    @submit
    def EmitEvent(self, ctx: Context, name: str, payload: str) -> str:
        """Set a chaincode event (delivered when the transaction commits) and return its payload."""
        ctx.stub.set_event(name, payload.encode())
        return payload

    @submit
    async def CallOther(
        self, ctx: Context, chaincode: str, function: str, arguments: list[str] | None = None
    ) -> bytes:
        """Invoke ``function`` of another chaincode on this channel with ``arguments`` (a JSON array)."""
        response = await ctx.stub.invoke_chaincode(chaincode, [function, *(arguments or [])])
        if not response.ok:
            status = response.status if 400 <= response.status <= 599 else 500
            raise TransactionError(f"{chaincode} {function} failed: {response.message}", status=status)
        return response.payload

    @evaluate
    def Fail(self, ctx: Context, message: str) -> None:
        """Always fails with ``message`` (status 500), returned to the client at once."""
        raise TransactionError(message)
