"""The curated top-level namespace is a contract with integrators: changing it is a deliberate act."""

import fabrx


def test_top_level_names_are_pinned() -> None:
    assert sorted(fabrx.__all__) == sorted(
        [
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
    )
    for name in fabrx.__all__:
        assert getattr(fabrx, name) is not None


def test_every_public_error_derives_from_the_root() -> None:
    for name in fabrx.__all__:
        value = getattr(fabrx, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, fabrx.FabrxError), name
