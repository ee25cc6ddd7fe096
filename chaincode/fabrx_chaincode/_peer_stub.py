"""The stub backed by a peer: each ledger primitive is one request/response on the chaincode stream.

Proposal fields (creator, transient data, timestamp, binding) are decoded from the signed proposal
only when first read, so a transaction that never asks pays nothing for them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_pb2, proposal_response_pb2

from .chaincode import ERROR, ChaincodeResponse
from .errors import ChaincodeError, ProtocolError
from .stub import ChaincodeStub

if TYPE_CHECKING:
    from ._handler import StreamHandler

Msg = chaincode_shim_pb2.ChaincodeMessage
QueryResponse = chaincode_shim_pb2.QueryResponse


class PeerStub(ChaincodeStub):
    """The stub of one transaction received on a peer stream."""

    def __init__(
        self,
        handler: StreamHandler,
        channel_id: str,
        transaction_id: str,
        chaincode_input: chaincode_pb2.ChaincodeInput,
        signed_proposal: proposal_pb2.SignedProposal | None,
    ) -> None:
        super().__init__()
        self._handler = handler
        self._channel_id = channel_id
        self._transaction_id = transaction_id
        self._input = chaincode_input
        self._signed_proposal = signed_proposal
        # The peer serves one request per transaction at a time and drops a second one unanswered,
        # so requests of one transaction are serialized here.
        self._lock = asyncio.Lock()
        if handler.write_batch_size:
            self._batch = {}

    # ---- transaction properties -------------------------------------------------------------

    @property
    def channel_id(self) -> str:
        return self._channel_id

    @property
    def transaction_id(self) -> str:
        return self._transaction_id

    @property
    def args(self) -> Sequence[bytes]:
        return self._input.args

    @property
    def decorations(self) -> Mapping[str, bytes]:
        return self._input.decorations

    @property
    def signed_proposal(self) -> proposal_pb2.SignedProposal | None:
        return self._signed_proposal

    @cached_property
    def _proposal(self) -> proposal_pb2.Proposal:
        if self._signed_proposal is None:
            raise ChaincodeError("this transaction came without a signed proposal")
        return proposal_pb2.Proposal.FromString(self._signed_proposal.proposal_bytes)

    @cached_property
    def _header(self) -> common_pb2.Header:
        return common_pb2.Header.FromString(self._proposal.header)

    @cached_property
    def _channel_header(self) -> common_pb2.ChannelHeader:
        return common_pb2.ChannelHeader.FromString(self._header.channel_header)

    @cached_property
    def _signature_header(self) -> common_pb2.SignatureHeader:
        return common_pb2.SignatureHeader.FromString(self._header.signature_header)

    @property
    def creator(self) -> bytes:
        if self._signed_proposal is None:
            return b""
        return self._signature_header.creator

    @cached_property
    def transient(self) -> Mapping[str, bytes]:
        if self._signed_proposal is None:
            return {}
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(self._proposal.payload)
        return dict(payload.TransientMap)

    @cached_property
    def binding(self) -> bytes:
        if self._signed_proposal is None:
            return b""
        epoch = self._channel_header.epoch.to_bytes(8, "little")
        signature_header = self._signature_header
        return hashlib.sha256(signature_header.nonce + signature_header.creator + epoch).digest()

    @cached_property
    def timestamp(self) -> datetime:
        return self._channel_header.timestamp.ToDatetime(tzinfo=UTC)

    # ---- requests -------------------------------------------------------------------------------

    async def _call(self, kind: int, payload: bytes) -> bytes:
        async with self._lock:
            return await self._handler.request(self._channel_id, self._transaction_id, kind, payload)

    async def _get_state(self, collection: str, key: str) -> bytes:
        payload = chaincode_shim_pb2.GetState(key=key, collection=collection).SerializeToString()
        return await self._call(Msg.GET_STATE, payload)

    async def _get_multiple_states(self, collection: str, keys_: list[str]) -> list[bytes]:
        size = self._handler.get_multiple_size
        if not size:
            return [await self._get_state(collection, key) for key in keys_]
        values: list[bytes] = []
        for start in range(0, len(keys_), size):
            request = chaincode_shim_pb2.GetStateMultiple(
                keys=keys_[start : start + size], collection=collection
            )
            raw = await self._call(Msg.GET_STATE_MULTIPLE, request.SerializeToString())
            values.extend(chaincode_shim_pb2.GetStateMultipleResult.FromString(raw).values)
        return values

    async def _get_private_data_hash(self, collection: str, key: str) -> bytes:
        payload = chaincode_shim_pb2.GetState(key=key, collection=collection).SerializeToString()
        return await self._call(Msg.GET_PRIVATE_DATA_HASH, payload)

    async def _get_state_metadata(self, collection: str, key: str) -> dict[str, bytes]:
        payload = chaincode_shim_pb2.GetStateMetadata(key=key, collection=collection).SerializeToString()
        raw = await self._call(Msg.GET_STATE_METADATA, payload)
        result = chaincode_shim_pb2.StateMetadataResult.FromString(raw)
        return {entry.metakey: entry.value for entry in result.entries}

    async def _put_state(self, collection: str, key: str, value: bytes) -> None:
        payload = chaincode_shim_pb2.PutState(key=key, value=value, collection=collection).SerializeToString()
        await self._call(Msg.PUT_STATE, payload)

    async def _del_state(self, collection: str, key: str) -> None:
        payload = chaincode_shim_pb2.DelState(key=key, collection=collection).SerializeToString()
        await self._call(Msg.DEL_STATE, payload)

    async def _purge_private_data(self, collection: str, key: str) -> None:
        payload = chaincode_shim_pb2.DelState(key=key, collection=collection).SerializeToString()
        await self._call(Msg.PURGE_PRIVATE_DATA, payload)

    async def _put_state_metadata(self, collection: str, key: str, metakey: str, value: bytes) -> None:
        request = chaincode_shim_pb2.PutStateMetadata(
            key=key,
            collection=collection,
            metadata=chaincode_shim_pb2.StateMetadata(metakey=metakey, value=value),
        )
        await self._call(Msg.PUT_STATE_METADATA, request.SerializeToString())

    async def _write_batch(self, records: list[chaincode_shim_pb2.WriteRecord]) -> None:
        size = self._handler.write_batch_size or len(records)
        for start in range(0, len(records), size):
            batch = chaincode_shim_pb2.WriteBatchState(rec=records[start : start + size])
            await self._call(Msg.WRITE_BATCH_STATE, batch.SerializeToString())

    async def _range(
        self, collection: str, start: str, end: str, metadata: bytes
    ) -> chaincode_shim_pb2.QueryResponse:
        request = chaincode_shim_pb2.GetStateByRange(
            startKey=start, endKey=end, collection=collection, metadata=metadata
        )
        return QueryResponse.FromString(await self._call(Msg.GET_STATE_BY_RANGE, request.SerializeToString()))

    async def _rich_query(
        self, collection: str, query: str, metadata: bytes
    ) -> chaincode_shim_pb2.QueryResponse:
        request = chaincode_shim_pb2.GetQueryResult(query=query, collection=collection, metadata=metadata)
        return QueryResponse.FromString(await self._call(Msg.GET_QUERY_RESULT, request.SerializeToString()))

    async def _history(self, key: str) -> chaincode_shim_pb2.QueryResponse:
        request = chaincode_shim_pb2.GetHistoryForKey(key=key)
        return QueryResponse.FromString(
            await self._call(Msg.GET_HISTORY_FOR_KEY, request.SerializeToString())
        )

    async def _query_next(self, query_id: str) -> chaincode_shim_pb2.QueryResponse:
        request = chaincode_shim_pb2.QueryStateNext(id=query_id)
        return QueryResponse.FromString(await self._call(Msg.QUERY_STATE_NEXT, request.SerializeToString()))

    async def _query_close(self, query_id: str) -> None:
        request = chaincode_shim_pb2.QueryStateClose(id=query_id)
        await self._call(Msg.QUERY_STATE_CLOSE, request.SerializeToString())

    async def _invoke_chaincode(self, target: str, args: list[bytes]) -> ChaincodeResponse:
        spec = chaincode_pb2.ChaincodeSpec(
            chaincode_id=chaincode_pb2.ChaincodeID(name=target), input=chaincode_pb2.ChaincodeInput(args=args)
        )
        async with self._lock:
            reply = await self._handler.exchange(
                self._channel_id, self._transaction_id, Msg.INVOKE_CHAINCODE, spec.SerializeToString()
            )
        if reply.type == Msg.ERROR:
            return ChaincodeResponse(status=ERROR, message=reply.payload.decode("utf-8", "replace"))
        if reply.type != Msg.RESPONSE:
            raise ProtocolError(f"the peer answered INVOKE_CHAINCODE with {Msg.Type.Name(reply.type)}")
        # The RESPONSE carries the callee's own final message: COMPLETED with a Response, or ERROR.
        inner = Msg.FromString(reply.payload)
        if inner.type != Msg.COMPLETED:
            return ChaincodeResponse(status=ERROR, message=inner.payload.decode("utf-8", "replace"))
        response = proposal_response_pb2.Response.FromString(inner.payload)
        return ChaincodeResponse(status=response.status, message=response.message, payload=response.payload)
