"""The public namespace of fabrx_chaincode and its dependency boundary."""

from __future__ import annotations

import subprocess
import sys

import fabrx_chaincode

EXPECTED = {
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
}


def test_exported_names_are_pinned() -> None:
    assert set(fabrx_chaincode.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(fabrx_chaincode, name) is not None


def test_every_error_derives_from_the_root() -> None:
    errors = [getattr(fabrx_chaincode, name) for name in EXPECTED if name.endswith("Error")]
    assert all(issubclass(error, fabrx_chaincode.ChaincodeError) for error in errors)


def test_runtime_does_not_import_the_fabrx_sdk() -> None:
    code = (
        "import sys, fabrx_chaincode, fabrx_chaincode.__main__; "
        "print(sorted(m for m in sys.modules if m == 'fabrx' or m.startswith('fabrx.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
