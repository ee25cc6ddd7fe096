"""fabrx_chaincode: a Python chaincode runtime for Hyperledger Fabric, served as chaincode-as-a-service.

Two layers, one direction: the shim (server, protocol handler, stubs) runs any
:class:`Chaincode`; the contract layer (:class:`Contract`, :func:`transaction`,
:class:`ContractChaincode`) is one such chaincode. Contracts are unit-tested on
:class:`~fabrx_chaincode.memstub.MemoryLedger` without a peer.

Serve from the command line with ``python -m fabrx_chaincode module:Contract`` (CCaaS environment
variables), or in-process with :func:`serve` (blocking), :class:`ChaincodeServer` (asyncio) or
:class:`ChaincodeServerThread` (from synchronous code).
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _distribution_version

try:
    __version__ = _distribution_version("fabrx-chaincode")
except _PackageNotFoundError:  # the development install: one distribution, fabrx, holds every package
    __version__ = _distribution_version("fabrx")

import logging as _logging

from ._loader import load_contracts
from ._router import SYSTEM_CONTRACT, ContractChaincode
from ._server import MAX_MESSAGE_SIZE, ChaincodeServer, ChaincodeServerThread, ServerConfig, ServerTLS, serve
from .chaincode import Chaincode, ChaincodeEvent, ChaincodeResponse
from .contract import Context, Contract, evaluate, submit, transaction
from .errors import (
    AccessDeniedError,
    ChaincodeError,
    ContractDefinitionError,
    InvalidArgumentError,
    InvalidKeyError,
    PeerRequestError,
    ProtocolError,
    ServerConfigError,
    TransactionError,
    UnknownTransactionError,
)
from .identity import ClientIdentity, serialize_identity
from .iterators import HistoryQueryIterator, KeyModification, KeyValue, QueryPageMetadata, StateQueryIterator
from .keys import create_composite_key, split_composite_key
from .memstub import MemoryLedger, MemoryStub
from .statebased import KeyEndorsementPolicy, RoleType
from .stub import ChaincodeStub

# A library logs only through its own logger and never configures logging for the application.
_logging.getLogger("fabrx_chaincode").addHandler(_logging.NullHandler())

__all__ = [
    "MAX_MESSAGE_SIZE",
    "SYSTEM_CONTRACT",
    "AccessDeniedError",
    "Chaincode",
    "ChaincodeError",
    "ChaincodeEvent",
    "ChaincodeResponse",
    "ChaincodeServer",
    "ChaincodeServerThread",
    "ChaincodeStub",
    "ClientIdentity",
    "Context",
    "Contract",
    "ContractChaincode",
    "ContractDefinitionError",
    "HistoryQueryIterator",
    "InvalidArgumentError",
    "InvalidKeyError",
    "KeyEndorsementPolicy",
    "KeyModification",
    "KeyValue",
    "MemoryLedger",
    "MemoryStub",
    "PeerRequestError",
    "ProtocolError",
    "QueryPageMetadata",
    "RoleType",
    "ServerConfig",
    "ServerConfigError",
    "ServerTLS",
    "StateQueryIterator",
    "TransactionError",
    "UnknownTransactionError",
    "create_composite_key",
    "evaluate",
    "load_contracts",
    "serialize_identity",
    "serve",
    "split_composite_key",
    "submit",
    "transaction",
]
