"""The asyncio Gateway client: the same nouns as :mod:`fabrx.gateway`, with ``async`` methods.

::

    async with fabrx.aio.connect(endpoint, identity=identity, signer=signer) as gateway:
        contract = gateway.get_network("mychannel").get_contract("basic")
        await contract.submit_transaction("CreateAsset", "asset1")
        async with await gateway.get_network("mychannel").chaincode_events("basic") as events:
            async for event in events:
                ...

Message building, signing, parsing, checkpointers and reconnect decisions are shared with the sync
client; only the I/O differs. Value types (``Status``, ``ChaincodeEvent``, checkpointers, ``Timeouts``,
``Reconnect``) are those of :mod:`fabrx.gateway`.
"""

from ._events import BlockEventsRequest, ChaincodeEventsRequest, EventStream
from ._gateway import Contract, Gateway, Network, connect
from ._proposal import Commit, Proposal, Transaction

__all__ = [
    "BlockEventsRequest",
    "ChaincodeEventsRequest",
    "Commit",
    "Contract",
    "EventStream",
    "Gateway",
    "Network",
    "Proposal",
    "Transaction",
    "connect",
]
