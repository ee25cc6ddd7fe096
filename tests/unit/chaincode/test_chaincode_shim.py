"""The shim protocol against a fake peer: handshake, ledger requests, completion, errors, concurrency, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from chaincode_fakes import FakePeer, creator_bytes, issue, response_of, signed_proposal
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2

from fabrx_chaincode import (
    ChaincodeServer,
    ChaincodeServerThread,
    Context,
    Contract,
    KeyEndorsementPolicy,
    RoleType,
    ServerConfigError,
    ServerTLS,
    TransactionError,
    evaluate,
    submit,
)
from fabrx_chaincode._handler import MAX_MESSAGE_CHARS

Msg = chaincode_shim_pb2.ChaincodeMessage
MiB = 1024 * 1024


class Probe(Contract):
    name = "probe"

    @evaluate
    async def Read(self, ctx: Context, key: str) -> bytes:
        return await ctx.stub.get_state(key)

    @submit
    async def Write(self, ctx: Context, key: str, value: bytes) -> bytes:
        await ctx.stub.put_state(key, value)
        return value

    @submit
    async def WriteThree(self, ctx: Context) -> None:
        for key in ("a", "b", "c"):
            await ctx.stub.put_state(key, key.encode())
        await ctx.stub.delete_state("old")

    @evaluate
    async def ReadMany(self, ctx: Context, keys: list[str]) -> list[str]:
        return [v.decode() for v in await ctx.stub.get_multiple_states(*keys)]

    @evaluate
    async def Scan(self, ctx: Context, page_size: int) -> dict[str, Any]:
        if page_size:
            results = await ctx.stub.get_state_by_range_with_pagination("k0", "k9", page_size, "k1")
        else:
            results = await ctx.stub.get_state_by_range("", "")
        keys = [kv.key async for kv in results]
        meta = results.metadata
        return {"keys": keys, "bookmark": meta.bookmark if meta else None}

    @evaluate
    async def History(self, ctx: Context, key: str) -> list[str]:
        return [f"{m.transaction_id}:{m.is_delete}" async for m in await ctx.stub.get_history_for_key(key)]

    @submit
    async def Private(self, ctx: Context, collection: str, key: str) -> str:
        await ctx.stub.put_private_data(collection, key, ctx.stub.transient["value"])
        digest = await ctx.stub.get_private_data_hash(collection, key)
        await ctx.stub.purge_private_data(collection, key)
        return digest.hex()

    @submit
    async def Endorsers(self, ctx: Context, key: str) -> list[str]:
        policy = KeyEndorsementPolicy(await ctx.stub.get_state_validation_parameter(key))
        policy.add_orgs(RoleType.PEER, "Org2MSP")
        await ctx.stub.set_state_validation_parameter(key, policy.policy)
        return list(policy.orgs)

    @submit
    async def Call(self, ctx: Context, chaincode: str) -> dict[str, Any]:
        response = await ctx.stub.invoke_chaincode(chaincode, ["Ping", b"x"], "otherchannel")
        return {"status": response.status, "message": response.message, "payload": response.payload.decode()}

    @submit
    def Event(self, ctx: Context, name: str) -> str:
        ctx.stub.set_event(name, b"event-payload")
        return "ok"

    @evaluate
    def WhoAmI(self, ctx: Context) -> dict[str, Any]:
        stub = ctx.stub
        return {
            "msp_id": ctx.client_identity.msp_id,
            "timestamp": stub.timestamp.isoformat(),
            "transient": sorted(stub.transient),
            "binding": len(stub.binding),
            "tx": stub.transaction_id,
            "channel": stub.channel_id,
            "signed": stub.signed_proposal is not None,
        }

    @submit
    async def Crash(self, ctx: Context) -> None:
        raise KeyError("missing-thing")

    @submit
    async def Refuse(self, ctx: Context) -> None:
        raise TransactionError("not allowed", status=403)

    @submit
    def Echo(self, ctx: Context, data: bytes) -> bytes:
        return data


@contextlib.asynccontextmanager
async def served(
    *,
    ready: chaincode_pb2.ChaincodeAdditionalParams | None = None,
    write_batch: bool = True,
    tls: ServerTLS | None = None,
    credentials: grpc.ChannelCredentials | None = None,
) -> AsyncIterator[FakePeer]:
    server = ChaincodeServer(
        [Probe()], address="127.0.0.1:0", chaincode_id="probe:0123", tls=tls, write_batch=write_batch
    )
    await server.start()
    peer = FakePeer(f"127.0.0.1:{server.port}", credentials=credentials)
    try:
        await peer.handshake(ready)
        yield peer
    finally:
        await peer.close()
        await server.stop(0)


def run(test: Callable[[FakePeer], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        async with served(**options) as peer:
            await test(peer)

    asyncio.run(main())


def test_handshake_registers_with_the_chaincode_id() -> None:
    async def check(peer: FakePeer) -> None:
        assert peer.register is not None
        assert peer.register.type == Msg.REGISTER
        assert chaincode_pb2.ChaincodeID.FromString(peer.register.payload).name == "probe:0123"
        # Ready: a transaction is served.
        await peer.transaction("t1", "probe:Echo", "hi")
        assert response_of(await peer.next("t1")).payload == b"hi"

    run(check)


def test_get_state_request_and_completed_payload() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Read", "k1", channel_id="ch1")
        request = await peer.next("t1")
        assert request.type == Msg.GET_STATE and request.channel_id == "ch1"
        get = chaincode_shim_pb2.GetState.FromString(request.payload)
        assert (get.key, get.collection) == ("k1", "")
        await peer.reply(request, b"value-1")
        response = response_of(await peer.next("t1"))
        assert (response.status, response.payload) == (200, b"value-1")

    run(check)


def test_put_state_goes_out_one_by_one_without_peer_batch_support() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "Write", "k", "v")  # default contract
        request = await peer.next("t1")
        assert request.type == Msg.PUT_STATE
        put = chaincode_shim_pb2.PutState.FromString(request.payload)
        assert (put.key, put.value) == ("k", b"v")
        await peer.reply(request)
        assert response_of(await peer.next("t1")).status == 200

    run(check)


def test_writes_are_batched_when_the_peer_advertises_write_batch() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:WriteThree")
        request = await peer.next("t1")
        assert request.type == Msg.WRITE_BATCH_STATE
        records = chaincode_shim_pb2.WriteBatchState.FromString(request.payload).rec
        kinds = {(r.key, r.type) for r in records}
        put, delete = chaincode_shim_pb2.WriteRecord.PUT_STATE, chaincode_shim_pb2.WriteRecord.DEL_STATE
        assert kinds == {("a", put), ("b", put), ("c", put), ("old", delete)}
        await peer.reply(request)
        assert response_of(await peer.next("t1")).status == 200

    params = chaincode_pb2.ChaincodeAdditionalParams(use_write_batch=True, max_size_write_batch=1000)
    run(check, ready=params)


def test_write_batch_is_split_by_the_peer_maximum() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:WriteThree")
        sizes = []
        for _ in range(2):
            request = await peer.next("t1")
            assert request.type == Msg.WRITE_BATCH_STATE
            sizes.append(len(chaincode_shim_pb2.WriteBatchState.FromString(request.payload).rec))
            await peer.reply(request)
        assert sizes == [3, 1]
        assert response_of(await peer.next("t1")).status == 200

    run(check, ready=chaincode_pb2.ChaincodeAdditionalParams(use_write_batch=True, max_size_write_batch=3))


def test_write_batch_can_be_turned_off_by_the_server() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Write", "k", "v")
        request = await peer.next("t1")
        assert request.type == Msg.PUT_STATE
        await peer.reply(request)
        assert response_of(await peer.next("t1")).status == 200

    run(check, ready=chaincode_pb2.ChaincodeAdditionalParams(use_write_batch=True), write_batch=False)


def test_get_multiple_states_uses_one_request_when_supported() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:ReadMany", '["x","y","z"]')
        request = await peer.next("t1")
        assert request.type == Msg.GET_STATE_MULTIPLE
        assert list(chaincode_shim_pb2.GetStateMultiple.FromString(request.payload).keys) == ["x", "y", "z"]
        result = chaincode_shim_pb2.GetStateMultipleResult(values=[b"1", b"", b"3"])
        await peer.reply(request, result.SerializeToString())
        assert json.loads(response_of(await peer.next("t1")).payload) == ["1", "", "3"]

    run(
        check,
        ready=chaincode_pb2.ChaincodeAdditionalParams(
            use_get_multiple_keys=True, max_size_get_multiple_keys=100
        ),
    )


def test_get_multiple_states_falls_back_to_get_state() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:ReadMany", '["x","y"]')
        for value in (b"1", b"2"):
            request = await peer.next("t1")
            assert request.type == Msg.GET_STATE
            await peer.reply(request, value)
        assert json.loads(response_of(await peer.next("t1")).payload) == ["1", "2"]

    run(check)


def _query_response(keys: list[str], *, has_more: bool, query_id: str = "q1", metadata: bytes = b"") -> bytes:
    results = [
        chaincode_shim_pb2.QueryResultBytes(
            resultBytes=kv_query_result_pb2.KV(key=k, value=b"v").SerializeToString()
        )
        for k in keys
    ]
    return chaincode_shim_pb2.QueryResponse(
        results=results, has_more=has_more, id=query_id, metadata=metadata
    ).SerializeToString()


def test_range_query_follows_pages_with_query_state_next() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Scan", "0")
        request = await peer.next("t1")
        assert request.type == Msg.GET_STATE_BY_RANGE
        query = chaincode_shim_pb2.GetStateByRange.FromString(request.payload)
        assert (query.startKey, query.endKey, query.metadata) == ("\x01", "", b"")  # open start substituted
        await peer.reply(request, _query_response(["a", "b"], has_more=True))
        following = await peer.next("t1")
        assert following.type == Msg.QUERY_STATE_NEXT
        assert chaincode_shim_pb2.QueryStateNext.FromString(following.payload).id == "q1"
        await peer.reply(following, _query_response(["c"], has_more=False))
        assert json.loads(response_of(await peer.next("t1")).payload) == {
            "keys": ["a", "b", "c"],
            "bookmark": None,
        }

    run(check)


def test_paginated_range_query_sends_page_size_and_bookmark() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Scan", "2")
        request = await peer.next("t1")
        query = chaincode_shim_pb2.GetStateByRange.FromString(request.payload)
        metadata = chaincode_shim_pb2.QueryMetadata.FromString(query.metadata)
        assert (metadata.pageSize, metadata.bookmark) == (2, "k1")
        page = chaincode_shim_pb2.QueryResponseMetadata(
            fetched_records_count=2, bookmark="k3"
        ).SerializeToString()
        await peer.reply(request, _query_response(["k1", "k2"], has_more=False, metadata=page))
        assert json.loads(response_of(await peer.next("t1")).payload) == {
            "keys": ["k1", "k2"],
            "bookmark": "k3",
        }

    run(check)


def test_history_private_data_and_purge_requests() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:History", "k")
        request = await peer.next("t1")
        assert request.type == Msg.GET_HISTORY_FOR_KEY
        modification = kv_query_result_pb2.KeyModification(tx_id="old-tx", value=b"", is_delete=True)
        response = chaincode_shim_pb2.QueryResponse(
            results=[chaincode_shim_pb2.QueryResultBytes(resultBytes=modification.SerializeToString())]
        )
        await peer.reply(request, response.SerializeToString())
        assert json.loads(response_of(await peer.next("t1")).payload) == ["old-tx:True"]

        proposal = signed_proposal(
            channel_id="mychannel", transaction_id="t2", creator=b"", transient={"value": b"secret"}
        )
        await peer.transaction("t2", "probe:Private", "col", "pk", proposal=proposal)
        put = await peer.next("t2")
        assert put.type == Msg.PUT_STATE
        assert chaincode_shim_pb2.PutState.FromString(put.payload).collection == "col"
        assert chaincode_shim_pb2.PutState.FromString(put.payload).value == b"secret"
        await peer.reply(put)
        hashed = await peer.next("t2")
        assert hashed.type == Msg.GET_PRIVATE_DATA_HASH
        await peer.reply(hashed, b"\xab\xcd")
        purge = await peer.next("t2")
        assert purge.type == Msg.PURGE_PRIVATE_DATA
        assert chaincode_shim_pb2.DelState.FromString(purge.payload).key == "pk"
        await peer.reply(purge)
        assert response_of(await peer.next("t2")).payload == b"abcd"

    run(check)


def test_state_metadata_and_key_level_endorsement_requests() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Endorsers", "k")
        get = await peer.next("t1")
        assert get.type == Msg.GET_STATE_METADATA
        existing = KeyEndorsementPolicy()
        existing.add_orgs(RoleType.MEMBER, "Org1MSP")
        entry = chaincode_shim_pb2.StateMetadata(metakey="VALIDATION_PARAMETER", value=existing.policy)
        await peer.reply(get, chaincode_shim_pb2.StateMetadataResult(entries=[entry]).SerializeToString())
        put = await peer.next("t1")
        assert put.type == Msg.PUT_STATE_METADATA
        written = chaincode_shim_pb2.PutStateMetadata.FromString(put.payload)
        assert written.metadata.metakey == "VALIDATION_PARAMETER"
        assert KeyEndorsementPolicy(written.metadata.value).orgs == ("Org1MSP", "Org2MSP")
        await peer.reply(put)
        assert json.loads(response_of(await peer.next("t1")).payload) == ["Org1MSP", "Org2MSP"]

    run(check)


def test_invoke_chaincode_returns_the_callee_response() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Call", "other")
        request = await peer.next("t1")
        assert request.type == Msg.INVOKE_CHAINCODE
        spec = chaincode_pb2.ChaincodeSpec.FromString(request.payload)
        assert spec.chaincode_id.name == "other/otherchannel"
        assert list(spec.input.args) == [b"Ping", b"x"]
        inner = Msg(
            type=Msg.COMPLETED,
            payload=proposal_response_pb2.Response(status=200, payload=b"pong").SerializeToString(),
        )
        await peer.reply(request, inner.SerializeToString())
        result = json.loads(response_of(await peer.next("t1")).payload)
        assert result == {"status": 200, "message": "", "payload": "pong"}

    run(check)


def test_chaincode_event_travels_on_completed() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Event", "AssetCreated")
        completed = await peer.next("t1")
        assert response_of(completed).payload == b"ok"
        assert completed.chaincode_event.event_name == "AssetCreated"
        assert completed.chaincode_event.payload == b"event-payload"

    run(check)


def test_proposal_fields_reach_the_transaction() -> None:
    async def check(peer: FakePeer) -> None:
        creator = creator_bytes("Org7MSP")
        proposal = signed_proposal(
            channel_id="mychannel", transaction_id="t1", creator=creator, transient={"a": b"1", "b": b"2"}
        )
        await peer.transaction("t1", "probe:WhoAmI", proposal=proposal)
        result = json.loads(response_of(await peer.next("t1")).payload)
        assert result == {
            "msp_id": "Org7MSP",
            "timestamp": "2026-01-02T03:04:05+00:00",
            "transient": ["a", "b"],
            "binding": 32,
            "tx": "t1",
            "channel": "mychannel",
            "signed": True,
        }

    run(check)


def test_an_exception_in_a_transaction_completes_with_status_500_at_once() -> None:
    async def check(peer: FakePeer) -> None:
        started = time.monotonic()
        await peer.transaction("t1", "probe:Crash")
        response = response_of(await peer.next("t1", timeout=2))
        assert response.status == 500 and "missing-thing" in response.message
        assert time.monotonic() - started < 2
        await peer.transaction("t2", "probe:Refuse")
        refused = response_of(await peer.next("t2"))
        assert (refused.status, refused.message) == (403, "not allowed")

    run(check)


def test_bad_arguments_and_unknown_functions_fail_with_400() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Scan", "many")
        response = response_of(await peer.next("t1"))
        assert response.status == 400 and "page_size" in response.message
        await peer.transaction("t2", "probe:Nope")
        assert response_of(await peer.next("t2")).status == 400
        await peer.transaction("t3", "nosuch:Read", "k")
        assert "nosuch" in response_of(await peer.next("t3")).message

    run(check)


def test_a_refusal_echoing_a_long_argument_is_cut_to_fit_the_clients_headers() -> None:
    # The peer passes the message to the client in a gRPC status header (8 KiB by default): a refusal
    # naming a 5 MB argument broke the client's call before messages were bounded.
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:" + "N" * 20_000)
        response = response_of(await peer.next("t1"))
        assert response.status == 400
        assert len(response.message) <= MAX_MESSAGE_CHARS + 50
        assert response.message.endswith("more characters cut)") and "NNNN" in response.message

    run(check)


def test_undecodable_input_is_answered_with_error() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", raw_payload=b"\xff\xff\xff")
        error = await peer.next("t1")
        assert error.type == Msg.ERROR and b"ChaincodeInput" in error.payload

    run(check)


def test_a_peer_error_reply_fails_the_transaction_with_its_message() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Read", "k")
        request = await peer.next("t1")
        await peer.reply(request, b"collection not found", error=True)
        response = response_of(await peer.next("t1"))
        assert response.status == 500
        assert "GET_STATE failed: collection not found" in response.message

    run(check)


def test_failed_init_is_answered_with_error() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Crash", init=True)
        error = await peer.next("t1")
        assert error.type == Msg.ERROR and b"missing-thing" in error.payload

    run(check)


def test_keepalive_is_echoed() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.send(Msg(type=Msg.KEEPALIVE, txid="ka"))
        assert (await peer.next("ka")).type == Msg.KEEPALIVE

    run(check)


def test_two_transactions_interleave_on_one_stream() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("slow", "probe:Read", "k1")
        slow_request = await peer.next("slow")
        # While "slow" waits for its GET_STATE answer, "fast" runs to completion.
        await peer.transaction("fast", "probe:Read", "k2")
        fast_request = await peer.next("fast")
        await peer.reply(fast_request, b"fast-value")
        assert response_of(await peer.next("fast")).payload == b"fast-value"
        assert peer.queue("slow").empty()
        await peer.reply(slow_request, b"slow-value")
        assert response_of(await peer.next("slow")).payload == b"slow-value"

    run(check)


def test_same_transaction_id_on_two_channels_is_kept_apart() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t", "probe:Read", "k", channel_id="ch-a")
        first = await peer.next("t")
        await peer.transaction("t", "probe:Read", "k", channel_id="ch-b")
        second = await peer.next("t")
        assert {first.channel_id, second.channel_id} == {"ch-a", "ch-b"}
        await peer.reply(second, b"B")
        await peer.reply(first, b"A")
        answers = {}
        for _ in range(2):
            completed = await peer.next("t")
            answers[completed.channel_id] = response_of(completed).payload
        assert answers == {"ch-a": b"A", "ch-b": b"B"}

    run(check)


def test_twenty_mib_payload_round_trip() -> None:
    blob = bytes(range(256)) * (20 * MiB // 256)

    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Write", "big", blob)
        request = await peer.next("t1", timeout=20)
        assert request.type == Msg.PUT_STATE
        assert chaincode_shim_pb2.PutState.FromString(request.payload).value == blob
        await peer.reply(request)
        assert response_of(await peer.next("t1", timeout=20)).payload == blob

    run(check)


def _tls_material() -> tuple[ServerTLS, grpc.ChannelCredentials, grpc.ChannelCredentials]:
    ca = issue("tls-ca", ca=True)
    server = issue("localhost", issuer=ca, hosts=["localhost", "127.0.0.1"])
    client = issue("peer0", issuer=ca)
    tls = ServerTLS(key=server.key_pem, certificate=server.cert_pem, client_ca_certificates=ca.cert_pem)
    with_cert = grpc.ssl_channel_credentials(ca.cert_pem, client.key_pem, client.cert_pem)
    without_cert = grpc.ssl_channel_credentials(ca.cert_pem)
    return tls, with_cert, without_cert


def test_mutual_tls_serves_a_peer_with_a_client_certificate() -> None:
    tls, with_cert, _ = _tls_material()

    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1", "probe:Echo", "secure")
        assert response_of(await peer.next("t1")).payload == b"secure"

    run(check, tls=tls, credentials=with_cert)


def test_mutual_tls_rejects_a_peer_without_a_client_certificate() -> None:
    tls, _, without_cert = _tls_material()

    async def main() -> None:
        server = ChaincodeServer([Probe()], address="127.0.0.1:0", chaincode_id="probe:0123", tls=tls)
        await server.start()
        peer = FakePeer(f"127.0.0.1:{server.port}", credentials=without_cert)
        try:
            with pytest.raises(grpc.aio.AioRpcError):
                await peer.handshake()
        finally:
            await peer.close()
            await server.stop(0)

    asyncio.run(main())


def test_starting_on_a_bound_port_raises_server_config_error() -> None:
    async def main() -> None:
        first = ChaincodeServer([Probe()], address="127.0.0.1:0", chaincode_id="probe:0123", tls=None)
        await first.start()
        try:
            second = ChaincodeServer(
                [Probe()], address=f"127.0.0.1:{first.port}", chaincode_id="probe:0123", tls=None
            )
            with pytest.raises(ServerConfigError, match="cannot listen"):
                await second.start()
        finally:
            await first.stop(0)

    asyncio.run(main())


def test_requests_after_the_stream_closes_fail_instead_of_hanging() -> None:
    async def main() -> None:
        server = ChaincodeServer([Probe()], address="127.0.0.1:0", chaincode_id="probe:0123", tls=None)
        await server.start()
        peer = FakePeer(f"127.0.0.1:{server.port}")
        await peer.handshake()
        await peer.transaction("t1", "probe:Read", "k")
        assert (await peer.next("t1")).type == Msg.GET_STATE
        await peer.close()  # the peer goes away with the request unanswered
        await asyncio.wait_for(server.stop(1), timeout=5)

    asyncio.run(main())


def test_a_transaction_without_arguments_succeeds_with_an_empty_payload() -> None:
    async def check(peer: FakePeer) -> None:
        await peer.transaction("t1")
        response = response_of(await peer.next("t1"))
        assert (response.status, response.payload) == (200, b"")

    run(check)


def test_server_thread_serves_synchronous_callers() -> None:
    with ChaincodeServerThread(
        [Probe()], address="127.0.0.1:0", chaincode_id="probe:0123", tls=None
    ) as server:
        assert server.port > 0

        async def exchange() -> bytes:
            peer = FakePeer(f"127.0.0.1:{server.port}")
            try:
                await peer.handshake()
                await peer.transaction("t1", "probe:Echo", "threaded")
                return response_of(await peer.next("t1")).payload
            finally:
                await peer.close()

        assert asyncio.run(exchange()) == b"threaded"
    with pytest.raises(ServerConfigError):
        ChaincodeServerThread([Probe()], address="256.0.0.1:1", chaincode_id="probe:0123", tls=None).start()
