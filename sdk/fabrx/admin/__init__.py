"""Channel, membership and chaincode lifecycle administration (``fabrx.admin``).

* :class:`OrdererAdmin`: an orderer's channel participation API (create a channel by joining each
  orderer with the genesis block; list, inspect, remove).
* :class:`PeerAdmin`: one peer as its organization's admin (join channels, chain info, install and
  list chaincode packages).
* :func:`approve_for_my_org`, :func:`check_commit_readiness`, :func:`commit`,
  :func:`query_committed`: the ``_lifecycle`` steps on a channel; :func:`deploy` runs them all.
* :func:`ccaas_package`: chaincode-as-a-service packages; :func:`parse_signature_policy`: policy strings.

Every failure is an :class:`~fabrx.errors.AdminError`; repeated joins, installs, approvals and commits
are reported (``already_joined``, ``already_installed``...) instead of failing.
"""

from ._endorse import ProposalRejected, TransactionInvalid
from .ccaas import ChaincodePackage, ccaas_package, package_id, package_label
from .definition import ChaincodeDefinition, CollectionConfig, CommittedDefinition
from .deploy import DeployReport, deploy
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

__all__ = [
    "ApproveResult",
    "ChainInfo",
    "ChaincodeDefinition",
    "ChaincodePackage",
    "ChannelInfo",
    "CollectionConfig",
    "CommitReadiness",
    "CommitResult",
    "CommittedDefinition",
    "DeployReport",
    "InstallResult",
    "InstalledChaincode",
    "OrdererAdmin",
    "OrdererJoin",
    "PeerAdmin",
    "PeerJoin",
    "PolicySyntaxError",
    "ProposalRejected",
    "TransactionInvalid",
    "approve_for_my_org",
    "ccaas_package",
    "check_commit_readiness",
    "commit",
    "deploy",
    "format_signature_policy",
    "package_id",
    "package_label",
    "parse_signature_policy",
    "query_committed",
]
