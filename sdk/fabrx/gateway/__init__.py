"""The fabrx Gateway client: evaluate and submit transactions, listen for events.

Navigation follows Fabric's nouns, as in the official ``fabric-gateway`` clients::

    with fabrx.connect(endpoint, identity=identity, signer=signer) as gateway:
        contract = gateway.get_network("mychannel").get_contract("basic")
        result = contract.submit_transaction("CreateAsset", "asset1", "blue")
        with gateway.get_network("mychannel").chaincode_events("basic", checkpoint=checkpointer) as events:
            for event in events:
                ...
                checkpointer.checkpoint_chaincode_event(event)

Step by step: ``contract.new_proposal(...)`` → :class:`Proposal` ``.endorse()`` → :class:`Transaction`
``.submit()`` → :class:`Commit` ``.status()``. Every request exposes ``.bytes``/``.digest`` for offline
signing. All objects are thread-safe except event iterators, which one thread consumes.
"""

from ._blockevents import Block, BlockAndPrivateData, BlockEventsRequest, FilteredBlock
from ._checkpoint import Checkpoint, Checkpointer, FileCheckpointer, InMemoryCheckpointer
from ._commit import Commit
from ._contract import Contract
from ._events import ChaincodeEventsRequest
from ._events_model import ChaincodeEvent
from ._gateway import Gateway, connect
from ._network import Network
from ._options import Reconnect, Timeouts
from ._profile import connect_profile
from ._proposal import Proposal
from ._status import Status, StatusCode
from ._stream import EventStream
from ._transaction import Transaction

__all__ = [
    "Block",
    "BlockAndPrivateData",
    "BlockEventsRequest",
    "ChaincodeEvent",
    "ChaincodeEventsRequest",
    "Checkpoint",
    "Checkpointer",
    "Commit",
    "Contract",
    "EventStream",
    "FileCheckpointer",
    "FilteredBlock",
    "Gateway",
    "InMemoryCheckpointer",
    "Network",
    "Proposal",
    "Reconnect",
    "Status",
    "StatusCode",
    "Timeouts",
    "Transaction",
    "connect",
    "connect_profile",
]
