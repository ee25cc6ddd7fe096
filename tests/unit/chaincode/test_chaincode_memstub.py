"""The in-memory ledger: commit semantics, queries, private data, events and cross-chaincode calls."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import pytest

from fabrx_chaincode import (
    Context,
    Contract,
    InvalidKeyError,
    KeyEndorsementPolicy,
    MemoryLedger,
    PeerRequestError,
    RoleType,
    evaluate,
    submit,
)
from fabrx_chaincode.memstub import PAGE_LIMIT


class Store(Contract):
    name = "store"

    @submit
    async def Put(self, ctx: Context, key: str, value: str) -> str:
        before = await ctx.stub.get_state(key)
        await ctx.stub.put_state(key, value.encode())
        after = await ctx.stub.get_state(key)  # a read never sees this transaction's own write
        return f"{before.decode()}|{after.decode()}"

    @submit
    async def PutMany(self, ctx: Context, count: int) -> None:
        for index in range(count):
            await ctx.stub.put_state(f"k{index:04d}", b"v")
            await ctx.stub.put_state(ctx.stub.create_composite_key("idx", [str(index)]), b"c")

    @submit
    async def Delete(self, ctx: Context, key: str) -> None:
        await ctx.stub.delete_state(key)

    @submit
    async def PutThenFail(self, ctx: Context, key: str) -> None:
        await ctx.stub.put_state(key, b"never")
        raise RuntimeError("rolled back")

    @evaluate
    async def Count(self, ctx: Context) -> int:
        return len([kv async for kv in await ctx.stub.get_state_by_range("", "")])

    @evaluate
    async def CountComposite(self, ctx: Context) -> int:
        return len([kv async for kv in await ctx.stub.get_state_by_partial_composite_key("idx")])

    @evaluate
    async def Page(self, ctx: Context, size: int, bookmark: str) -> dict[str, Any]:
        results = await ctx.stub.get_state_by_range_with_pagination("", "", size, bookmark)
        keys = [kv.key async for kv in results]
        assert results.metadata is not None
        return {
            "keys": keys,
            "next": results.metadata.bookmark,
            "count": results.metadata.fetched_records_count,
        }

    @evaluate
    async def History(self, ctx: Context, key: str) -> list[list[Any]]:
        return [[m.value.decode(), m.is_delete] async for m in await ctx.stub.get_history_for_key(key)]

    @submit
    async def Private(self, ctx: Context, collection: str, key: str) -> None:
        await ctx.stub.put_private_data(collection, key, ctx.stub.transient["secret"])

    @evaluate
    async def PrivateHash(self, ctx: Context, collection: str, key: str) -> str:
        return (await ctx.stub.get_private_data_hash(collection, key)).hex()

    @submit
    async def Purge(self, ctx: Context, collection: str, key: str) -> None:
        await ctx.stub.purge_private_data(collection, key)

    @submit
    async def Protect(self, ctx: Context, key: str) -> None:
        policy = KeyEndorsementPolicy()
        policy.add_orgs(RoleType.PEER, "Org1MSP")
        await ctx.stub.set_state_validation_parameter(key, policy.policy)

    @evaluate
    async def Protection(self, ctx: Context, key: str) -> list[str]:
        return list(KeyEndorsementPolicy(await ctx.stub.get_state_validation_parameter(key)).orgs)

    @submit
    def Emit(self, ctx: Context, name: str) -> None:
        ctx.stub.set_event(name, b"first")
        ctx.stub.set_event(name, b"second")  # one event per transaction: the last wins

    @submit
    async def Forward(self, ctx: Context, target: str, key: str) -> str:
        response = await ctx.stub.invoke_chaincode(target, ["store:Put", key, "from-caller"])
        return f"{response.status}:{response.payload.decode()}"

    @evaluate
    async def Rich(self, ctx: Context) -> None:
        await ctx.stub.get_query_result('{"selector":{}}')

    @submit
    async def BadKey(self, ctx: Context) -> None:
        await ctx.stub.get_state_by_range("\x00a", "")


def ledger(**options: Any) -> MemoryLedger:
    result = MemoryLedger(**options)
    result.deploy("store", [Store()])
    return result


def test_reads_do_not_see_own_writes_and_submit_commits() -> None:
    memory = ledger()
    assert memory.submit_sync("store", "Put", "k", "v1").payload == b"|"
    assert memory.state("store")["k"] == b"v1"
    assert memory.submit_sync("store", "Put", "k", "v2").payload == b"v1|v1"
    assert memory.block_number == 2


def test_evaluate_and_failed_submit_discard_writes() -> None:
    memory = ledger()
    assert memory.evaluate_sync("store", "Put", "k", "v").ok
    response = memory.submit_sync("store", "PutThenFail", "k")
    assert (response.status, response.message) == (500, "rolled back")
    assert "k" not in memory.state("store")
    assert memory.block_number == 0


def test_empty_value_deletes_and_history_is_newest_first() -> None:
    memory = ledger()
    memory.submit_sync("store", "Put", "k", "v1")
    memory.submit_sync("store", "Put", "k", "v2")
    memory.submit_sync("store", "Delete", "k")
    assert "k" not in memory.state("store")
    assert json.loads(memory.evaluate_sync("store", "History", "k").payload) == [
        ["", True],
        ["v2", False],
        ["v1", False],
    ]


def test_range_queries_cross_pages_and_skip_composite_keys() -> None:
    memory = ledger()
    memory.submit_sync("store", "PutMany", str(PAGE_LIMIT + 5))
    assert memory.evaluate_sync("store", "Count").payload == str(PAGE_LIMIT + 5).encode()
    assert memory.evaluate_sync("store", "CountComposite").payload == str(PAGE_LIMIT + 5).encode()


def test_pagination_returns_bookmarks() -> None:
    memory = ledger()
    memory.submit_sync("store", "PutMany", "5")
    first = json.loads(memory.evaluate_sync("store", "Page", "2", "").payload)
    assert first == {"keys": ["k0000", "k0001"], "next": "k0002", "count": 2}
    last = json.loads(memory.evaluate_sync("store", "Page", "4", "k0002").payload)
    assert last == {"keys": ["k0002", "k0003", "k0004"], "next": "", "count": 3}


def test_private_data_hash_and_purge() -> None:
    memory = ledger()
    assert memory.submit_sync("store", "Private", "col", "p", transient={"secret": b"s3"}).ok
    assert memory.private_data("store", "col")["p"] == b"s3"
    assert (
        memory.evaluate_sync("store", "PrivateHash", "col", "p").payload
        == hashlib.sha256(b"s3").hexdigest().encode()
    )
    memory.submit_sync("store", "Purge", "col", "p")
    assert "p" not in memory.private_data("store", "col")
    assert "p" not in memory.state("store")  # private data never lands in the world state


def test_key_level_policy_is_stored_as_state_metadata() -> None:
    memory = ledger()
    memory.submit_sync("store", "Protect", "k")
    assert memory.state_metadata("store", "k")["VALIDATION_PARAMETER"]
    assert json.loads(memory.evaluate_sync("store", "Protection", "k").payload) == ["Org1MSP"]


def test_committed_events_keep_the_last_event() -> None:
    memory = ledger()
    memory.submit_sync("store", "Emit", "Created", transaction_id="tx-e")
    [event] = memory.events
    assert (event.name, event.payload, event.transaction_id, event.block_number) == (
        "Created",
        b"second",
        "tx-e",
        1,
    )
    memory.evaluate_sync("store", "Emit", "Ignored")
    assert len(memory.events) == 1


def test_invoke_chaincode_commits_callee_writes_with_the_caller() -> None:
    memory = ledger()
    memory.deploy("other", [Store()])
    assert memory.submit_sync("store", "Forward", "other", "x").payload == b"200:|"
    assert memory.state("other")["x"] == b"from-caller"
    assert memory.submit_sync("store", "Forward", "missing", "x").payload.startswith(b"500:")


def test_rich_queries_and_bad_range_keys_fail() -> None:
    memory = ledger()
    rich = memory.evaluate_sync("store", "Rich")
    assert rich.status == 500 and "CouchDB" in rich.message
    bad = memory.submit_sync("store", "BadKey")
    assert bad.status == 400 and "reserved for composite keys" in bad.message


def test_write_batch_mode_gives_the_same_results() -> None:
    memory = ledger(write_batch=True)
    memory.submit_sync("store", "PutMany", "3")
    memory.submit_sync("store", "Put", "k", "v")
    assert sorted(memory.state("store"))[:1] == ["\x00idx\x000\x00"]
    assert memory.state("store")["k"] == b"v"


def test_stub_checks_arguments_directly() -> None:
    memory = ledger()
    stub = memory.stub("store", "Put", "k", "v")
    with pytest.raises(InvalidKeyError):
        asyncio.run(stub.put_state("", b"v"))
    with pytest.raises(TypeError, match="encode a str"):
        asyncio.run(stub.put_state("k", "text"))  # type: ignore[arg-type]
    with pytest.raises(PeerRequestError):
        asyncio.run(stub.get_query_result("{}"))
    assert stub.function_and_parameters == ("Put", ["k", "v"])
    assert stub.signed_proposal is None
