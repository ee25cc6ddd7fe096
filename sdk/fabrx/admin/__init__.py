"""Channel, membership and chaincode lifecycle administration (``fabrx.admin``).

* :class:`OrdererAdmin`: an orderer's channel participation API (create a channel by joining each
  orderer with the genesis block; list, inspect, remove).
* :class:`PeerAdmin`: one peer as its organization's admin (join channels, chain info, install and
  list chaincode packages).
* :func:`approve_for_my_org`, :func:`check_commit_readiness`, :func:`commit`,
  :func:`query_committed`: the ``_lifecycle`` steps on a channel; :func:`deploy` runs them all.
* :func:`ccaas_package`: chaincode-as-a-service packages; :func:`parse_signature_policy`: policy strings.
* Changing a running channel: :func:`read_channel_config` (a typed :class:`ChannelConfig`, from a peer;
  :func:`read_channel_config_from_orderer` from an orderer), the edits
  (:func:`set_anchor_peers`, :func:`add_organization` from a :class:`JoinRequest`,
  :func:`remove_organization`, :func:`add_crl`, :func:`add_consenter`, :func:`remove_consenter`,
  :func:`set_orderer_endpoints`), :func:`new_channel_update`
  (or :func:`compute_update`), :func:`describe_update`, :func:`sign_update` (one admin, one signature
  file), :func:`check_signatures` and :func:`submit_update` (refused, naming what is missing, when the
  signatures do not satisfy the update's policies).
* Joining a long channel fast: :func:`request_snapshot` and :func:`wait_for_snapshot` on a member's
  peer, :func:`join_channel_by_snapshot` on the new member's peer (:mod:`fabrx.admin.snapshot`).

Every failure is an :class:`~fabrx.errors.AdminError`; repeated joins, installs, approvals and commits
are reported (``already_joined``, ``already_installed``...) instead of failing.
"""

from ._endorse import (
    Committed,
    PeerConnection,
    ProposalRejected,
    SigningIdentity,
    TransactionInvalid,
    submit_transaction,
)
from .blockverify import BLOCK_VALIDATION_POLICY, BlockVerification, verify_block
from .ccaas import ChaincodePackage, ccaas_package, package_id, package_label
from .channelconfig import (
    AnchorPeer,
    ChannelConfig,
    Consenter,
    MspDefinition,
    OrganizationConfig,
    config_from_block,
    read_channel_config,
)
from .channelupdate import (
    ChannelUpdate,
    SignatureCheck,
    SignaturesInsufficient,
    UpdateSignature,
    check_signatures,
    new_channel_update,
    sign_update,
    submit_update,
)
from .configblock import fetch_block, fetch_config_block, read_channel_config_from_orderer
from .configedit import (
    add_consenter,
    add_crl,
    add_organization,
    remove_consenter,
    remove_organization,
    set_anchor_peers,
    set_orderer_endpoints,
)
from .configupdate import ConfigChange, changes_of, compute_update, describe_update
from .definition import ChaincodeDefinition, CollectionConfig, CommittedDefinition
from .deploy import DeployReport, deploy
from .joinrequest import JoinRequest, JoinRequestError
from .lifecycle import (
    ApproveResult,
    CommitReadiness,
    CommitResult,
    approve_for_my_org,
    check_commit_readiness,
    commit,
    query_committed,
)
from .participation import ChannelInfo, OrdererAdmin, OrdererJoin
from .peer import ChainInfo, InstalledChaincode, InstallResult, PeerAdmin, PeerJoin
from .policy import PolicySyntaxError, format_signature_policy, parse_signature_policy
from .snapshot import (
    JoinBySnapshotStatus,
    join_by_snapshot_status,
    join_channel_by_snapshot,
    pending_snapshots,
    request_snapshot,
    snapshot_path,
    wait_for_snapshot,
)

__all__ = [
    "BLOCK_VALIDATION_POLICY",
    "AnchorPeer",
    "ApproveResult",
    "BlockVerification",
    "ChainInfo",
    "ChaincodeDefinition",
    "ChaincodePackage",
    "ChannelConfig",
    "ChannelInfo",
    "ChannelUpdate",
    "CollectionConfig",
    "CommitReadiness",
    "CommitResult",
    "Committed",
    "CommittedDefinition",
    "ConfigChange",
    "Consenter",
    "DeployReport",
    "InstallResult",
    "InstalledChaincode",
    "JoinBySnapshotStatus",
    "JoinRequest",
    "JoinRequestError",
    "MspDefinition",
    "OrdererAdmin",
    "OrdererJoin",
    "OrganizationConfig",
    "PeerAdmin",
    "PeerConnection",
    "PeerJoin",
    "PolicySyntaxError",
    "ProposalRejected",
    "SignatureCheck",
    "SignaturesInsufficient",
    "SigningIdentity",
    "TransactionInvalid",
    "UpdateSignature",
    "add_consenter",
    "add_crl",
    "add_organization",
    "approve_for_my_org",
    "ccaas_package",
    "changes_of",
    "check_commit_readiness",
    "check_signatures",
    "commit",
    "compute_update",
    "config_from_block",
    "deploy",
    "describe_update",
    "fetch_block",
    "fetch_config_block",
    "format_signature_policy",
    "join_by_snapshot_status",
    "join_channel_by_snapshot",
    "new_channel_update",
    "package_id",
    "package_label",
    "parse_signature_policy",
    "pending_snapshots",
    "query_committed",
    "read_channel_config",
    "read_channel_config_from_orderer",
    "remove_consenter",
    "remove_organization",
    "request_snapshot",
    "set_anchor_peers",
    "set_orderer_endpoints",
    "sign_update",
    "snapshot_path",
    "submit_transaction",
    "submit_update",
    "verify_block",
    "wait_for_snapshot",
]
