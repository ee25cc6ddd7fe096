from __future__ import annotations

from typing import Any

import pytest
from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.peer import query_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from fabrx.admin import ChainInfo, InstalledChaincode, PeerAdmin, ProposalRejected, ccaas_package
from fabrx.endpoint import Endpoint
from fabrx.errors import AdminError


def ok(payload: bytes = b"") -> Any:
    return lambda call: (200, "", payload)


def fail(status: int, message: str) -> Any:
    return lambda call: (status, message, b"")


def test_join_channel_sends_signed_config_proposal_with_block(network: Any, make_block: Any) -> None:
    peer = network.peers[0]
    peer.handlers[("cscc", "JoinChain")] = ok()
    block = make_block("pharma")
    with network.admin() as admin:
        joined = admin.join_channel(block)
    assert (joined.channel_id, joined.already_joined) == ("pharma", False)
    (call,) = peer.calls
    assert call.args == [b"JoinChain", block]
    assert call.channel_header.type == common_pb2.CONFIG
    assert call.channel_header.channel_id == ""
    assert call.msp_id == "Org1MSP"


def test_join_of_existing_ledger_reports_already_joined(network: Any, make_block: Any) -> None:
    network.peers[0].handlers[("cscc", "JoinChain")] = fail(
        500, "ledger [pharma] already exists with state [ACTIVE]"
    )
    with network.admin() as admin:
        joined = admin.join_channel(make_block("pharma"))
    assert joined.already_joined is True


def test_join_refused_names_peer_and_reason(network: Any, make_block: Any) -> None:
    network.peers[0].handlers[("cscc", "JoinChain")] = fail(500, "access denied for [JoinChain][pharma]")
    with network.admin() as admin, pytest.raises(ProposalRejected) as caught:
        admin.join_channel(make_block("pharma"))
    error = caught.value
    assert error.address == network.peer_endpoints[0].address
    assert error.status == 500
    assert "access denied" in str(error) and "join channel pharma" in str(error)
    assert isinstance(error, AdminError)


def test_channels_decodes_channel_query_response(network: Any) -> None:
    response = query_pb2.ChannelQueryResponse(
        channels=[query_pb2.ChannelInfo(channel_id="a"), query_pb2.ChannelInfo(channel_id="b")]
    )
    network.peers[0].handlers[("cscc", "GetChannels")] = ok(response.SerializeToString())
    with network.admin() as admin:
        assert admin.channels() == ("a", "b")
    assert network.peers[0].calls[0].channel_header.type == common_pb2.ENDORSER_TRANSACTION


def test_chain_info_asks_qscc_for_the_channel(network: Any) -> None:
    info = ledger_pb2.BlockchainInfo(height=7, currentBlockHash=b"cur", previousBlockHash=b"prev")
    network.peers[0].handlers[("qscc", "GetChainInfo")] = ok(info.SerializeToString())
    with network.admin() as admin:
        assert admin.chain_info("pharma") == ChainInfo("pharma", 7, b"cur", b"prev")
    assert network.peers[0].calls[0].args == [b"GetChainInfo", b"pharma"]


def test_install_sends_package_to_lifecycle_and_returns_package_id(network: Any) -> None:
    package = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    result = lifecycle_pb2.InstallChaincodeResult(package_id=package.package_id, label="kv_1.0")
    network.peers[0].handlers[("_lifecycle", "InstallChaincode")] = ok(result.SerializeToString())
    with network.admin() as admin:
        installed = admin.install(package)
    assert (installed.package_id, installed.label, installed.already_installed) == (
        package.package_id,
        "kv_1.0",
        False,
    )
    (call,) = network.peers[0].calls
    assert call.channel_header.channel_id == ""
    args = lifecycle_pb2.InstallChaincodeArgs.FromString(call.args[1])
    assert args.chaincode_install_package == package.data


def test_reinstall_reports_already_installed_with_computed_id(network: Any) -> None:
    package = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    message = f"chaincode already successfully installed (package ID '{package.package_id}')"
    network.peers[0].handlers[("_lifecycle", "InstallChaincode")] = fail(500, message)
    with network.admin() as admin:
        installed = admin.install(package.data)
    assert installed.already_installed is True
    assert installed.package_id == package.package_id


def test_install_of_non_package_fails_before_sending(network: Any) -> None:
    with network.admin() as admin, pytest.raises(AdminError, match="not a chaincode package"):
        admin.install(b"junk")
    assert network.peers[0].calls == []


def test_query_installed_lists_packages_and_references(network: Any) -> None:
    result = lifecycle_pb2.QueryInstalledChaincodesResult()
    entry = result.installed_chaincodes.add(package_id="kv_1.0:ab", label="kv_1.0")
    entry.references["pharma"].chaincodes.add(name="kv", version="1.0")
    network.peers[0].handlers[("_lifecycle", "QueryInstalledChaincodes")] = ok(result.SerializeToString())
    with network.admin() as admin:
        assert admin.query_installed() == (
            InstalledChaincode("kv_1.0:ab", "kv_1.0", {"pharma": (("kv", "1.0"),)}),
        )


def test_unreachable_peer_raises_admin_error_naming_it(org1: Any) -> None:
    admin = PeerAdmin(Endpoint(address="127.0.0.1:1"), org1.identity, org1.signer, timeout=1)
    with admin, pytest.raises(AdminError, match=r"list channels at 127.0.0.1:1 failed: UNAVAILABLE"):
        admin.channels()


def test_close_releases_channel_and_admin_can_reconnect(network: Any) -> None:
    network.peers[0].handlers[("cscc", "GetChannels")] = ok()
    admin = network.admin()
    first = admin.connection.channel
    assert admin.channels() == ()
    admin.close()
    assert admin.connection.channel is not first
    assert admin.channels() == ()
    admin.close()


def test_proposals_are_signed_by_the_given_identity(network: Any) -> None:
    # A signer that does not belong to the identity's certificate is caught by the peer's check.
    network.peers[0].handlers[("cscc", "GetChannels")] = ok()
    admin = PeerAdmin(network.peer_endpoints[0], network.org1.identity, network.org2.signer, timeout=5)
    with admin, pytest.raises(AdminError, match="list channels"):
        admin.channels()
