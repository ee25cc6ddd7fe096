"""fabrx: a Python client for Hyperledger Fabric and the pharma supervision consortium.

The top-level namespace holds what an ERP adapter needs day to day: connect to a gateway peer,
evaluate and submit transactions, listen to events, and load identities. Subpackages hold the rest:

- :mod:`fabrx.gateway` / :mod:`fabrx.aio`: the Gateway client, sync and asyncio
- :mod:`fabrx.admin`: channel participation, peer channel join, chaincode lifecycle
- :mod:`fabrx.ca`: the Fabric CA client; :mod:`fabrx.wallet`: identity stores
- :mod:`fabrx.errors`: the exception tree rooted at :class:`FabrxError`
"""

from importlib.metadata import version as _distribution_version

__version__ = _distribution_version("fabrx")

from . import hashing
from .ca import CAClient, Enrollment
from .endpoint import Endpoint
from .errors import (
    AdminError,
    ArgumentError,
    ArgumentTypeError,
    CAError,
    CommitError,
    CommitStatusError,
    CommitStatusUnknown,
    ConnectionFailure,
    EndorseError,
    ErrorDetail,
    FabrxError,
    GatewayError,
    IdentityError,
    SubmitError,
)
from .gateway import (
    ChaincodeEvent,
    Checkpoint,
    Checkpointer,
    Commit,
    Contract,
    FileCheckpointer,
    Gateway,
    InMemoryCheckpointer,
    Network,
    Proposal,
    Reconnect,
    Status,
    StatusCode,
    Timeouts,
    Transaction,
    connect,
    connect_profile,
)
from .identity import Identity, load_msp_folder
from .signing import Signer, load_private_key, new_private_key_signer
from .wallet import FileSystemWallet, InMemoryWallet, Wallet, X509Identity

__all__ = [
    "AdminError",
    "ArgumentError",
    "ArgumentTypeError",
    "CAClient",
    "CAError",
    "ChaincodeEvent",
    "Checkpoint",
    "Checkpointer",
    "Commit",
    "CommitError",
    "CommitStatusError",
    "CommitStatusUnknown",
    "ConnectionFailure",
    "Contract",
    "EndorseError",
    "Endpoint",
    "Enrollment",
    "ErrorDetail",
    "FabrxError",
    "FileCheckpointer",
    "FileSystemWallet",
    "Gateway",
    "GatewayError",
    "Identity",
    "IdentityError",
    "InMemoryCheckpointer",
    "InMemoryWallet",
    "Network",
    "Proposal",
    "Reconnect",
    "Signer",
    "Status",
    "StatusCode",
    "SubmitError",
    "Timeouts",
    "Transaction",
    "Wallet",
    "X509Identity",
    "connect",
    "connect_profile",
    "hashing",
    "load_msp_folder",
    "load_private_key",
    "new_private_key_signer",
]
