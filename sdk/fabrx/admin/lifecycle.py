"""Chaincode lifecycle on a channel: approve, check commit readiness, commit, query committed.

Fabric's ``_lifecycle`` steps after installing a package on each peer (:meth:`PeerAdmin.install`):

1. each organization approves the same :class:`ChaincodeDefinition` with the package id its own peers
   run (:func:`approve_for_my_org`, a transaction: endorsed by the org's peer, ordered, committed);
2. :func:`check_commit_readiness` shows which organizations approved that exact definition;
3. once enough organizations approved (the channel's ``LifecycleEndorsement`` policy, by default a
   majority), one admin commits it with endorsements from peers of enough organizations
   (:func:`commit`); from then on the chaincode can be invoked;
4. :func:`query_committed` reads committed definitions back.

Re-running a deployment is safe: approving a definition the organization already approved, and
committing a definition already committed, are detected and reported instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from fabric_protos.peer.lifecycle import lifecycle_pb2

from ..endpoint import Endpoint, new_channel
from ..errors import AdminError
from ._endorse import (
    DEFAULT_COMMIT_TIMEOUT,
    PeerConnection,
    ProposalRejected,
    TransactionInvalid,
    query,
    submit_transaction,
)
from .definition import ChaincodeDefinition, CommittedDefinition
from .peer import LIFECYCLE, PeerAdmin

__all__ = [
    "ApproveResult",
    "CommitReadiness",
    "CommitResult",
    "approve_for_my_org",
    "check_commit_readiness",
    "commit",
    "query_committed",
]

# _lifecycle's answers when an approval would change nothing (core/chaincode/lifecycle): the same
# definition and package are already approved for the next sequence, or for the committed one.
_UNCHANGED_APPROVAL = re.compile(
    r"attempted to redefine uncommitted sequence \(\d+\) for namespace \S+ with unchanged content"
)
_UNCHANGED_COMMITTED = re.compile(
    r"attempted to redefine the current committed sequence \(\d+\) for namespace \S+$"
)


@dataclass(frozen=True)
class ApproveResult:
    """The outcome of an approval.

    ``already_approved`` means the organization had approved this exact definition and package
    before, so nothing was submitted (``transaction_id`` is empty, ``block_number`` ``None``).
    """

    msp_id: str
    transaction_id: str
    block_number: int | None
    already_approved: bool


@dataclass(frozen=True)
class CommitResult:
    """The outcome of a commit; ``already_committed`` when the definition was committed before."""

    transaction_id: str
    block_number: int | None
    already_committed: bool


@dataclass(frozen=True)
class CommitReadiness:
    """Which organizations approved a definition (MSP id → approved) and, for those that approved a
    different one, which parameters differ (e.g. ``ValidationParameter``, ``Collections``)."""

    approvals: Mapping[str, bool]
    mismatches: Mapping[str, tuple[str, ...]]

    @property
    def pending(self) -> tuple[str, ...]:
        """The MSP ids that have not approved, sorted."""
        return tuple(sorted(msp_id for msp_id, approved in self.approvals.items() if not approved))

    @property
    def approved_by_all(self) -> bool:
        return not self.pending


def approve_for_my_org(
    admin: PeerAdmin,
    channel_id: str,
    definition: ChaincodeDefinition,
    *,
    orderer: Endpoint,
    commit_timeout: float = DEFAULT_COMMIT_TIMEOUT,
) -> ApproveResult:
    """Approve ``definition`` (with its ``package_id``) for the admin's organization.

    The approval is endorsed by the admin's peer, ordered by ``orderer`` and waited for until the
    peer committed it.

    Raises:
        ProposalRejected: the peer refused (wrong sequence, a different definition already committed
            at this sequence, not an admin...); the peer's reason is in the message.
        AdminError: ordering failed, the transaction was invalid, or the commit wait timed out.
    """
    args = definition.approve_args().SerializeToString()
    action = f"approve {definition.name} sequence {definition.sequence} for {admin.msp_id} on {channel_id}"
    try:
        committed = submit_transaction(
            admin.signing,
            channel_id,
            LIFECYCLE,
            [b"ApproveChaincodeDefinitionForMyOrg", args],
            action,
            endorsers=[admin.connection],
            orderer=orderer,
            timeout=admin.timeout,
            commit_timeout=commit_timeout,
        )
    except ProposalRejected as exc:
        if _UNCHANGED_APPROVAL.search(exc.reason) or _UNCHANGED_COMMITTED.search(exc.reason):
            return ApproveResult(
                msp_id=admin.msp_id, transaction_id="", block_number=None, already_approved=True
            )
        raise
    return ApproveResult(
        msp_id=admin.msp_id,
        transaction_id=committed.transaction_id,
        block_number=committed.block_number,
        already_approved=False,
    )


def check_commit_readiness(
    admin: PeerAdmin, channel_id: str, definition: ChaincodeDefinition
) -> CommitReadiness:
    """Ask the admin's peer which organizations approved exactly ``definition``.

    Raises:
        ProposalRejected: the peer refused, e.g. because ``definition.sequence`` is not the next
            sequence (it is already committed, or one is skipped).
        AdminError: the peer is unreachable.
    """
    args = definition.check_commit_readiness_args().SerializeToString()
    payload = query(
        admin.connection,
        admin.signing,
        channel_id,
        LIFECYCLE,
        [b"CheckCommitReadiness", args],
        f"check commit readiness of {definition.name} on {channel_id}",
        timeout=admin.timeout,
    )
    result = lifecycle_pb2.CheckCommitReadinessResult.FromString(payload)
    return CommitReadiness(
        approvals=dict(sorted(result.approvals.items())),
        mismatches={msp_id: tuple(m.items) for msp_id, m in sorted(result.mismatches.items())},
    )


def commit(
    admin: PeerAdmin,
    channel_id: str,
    definition: ChaincodeDefinition,
    *,
    orderer: Endpoint,
    peers: Sequence[Endpoint] = (),
    commit_timeout: float = DEFAULT_COMMIT_TIMEOUT,
) -> CommitResult:
    """Commit ``definition`` on the channel, endorsed by the admin's peer and ``peers``.

    The endorsing peers must belong to enough organizations to satisfy the channel's
    ``LifecycleEndorsement`` policy (by default a majority), and each of those organizations must have
    approved the definition. The commit is waited for on every endorsing peer. When the definition is
    already committed the call reports ``already_committed`` and submits nothing.

    Raises:
        AdminError: a different definition is already committed at this or a later sequence, the
            transaction was refused by a peer (:class:`ProposalRejected`) or the orderer, or it was
            committed as invalid (usually: too few organizations approved or endorsed).
    """
    previous = _committed_one(admin, channel_id, definition.name)
    if previous is not None and previous.sequence >= definition.sequence:
        return _already_committed(definition, previous, channel_id)
    args = definition.commit_args().SerializeToString()
    action = f"commit {definition.name} sequence {definition.sequence} on {channel_id}"
    with ExitStack() as stack:
        endorsers = [admin.connection]
        for endpoint in peers:
            channel = stack.enter_context(new_channel(endpoint))
            endorsers.append(PeerConnection(address=endpoint.address, channel=channel))
        try:
            committed = submit_transaction(
                admin.signing,
                channel_id,
                LIFECYCLE,
                [b"CommitChaincodeDefinition", args],
                action,
                endorsers=endorsers,
                orderer=orderer,
                timeout=admin.timeout,
                commit_timeout=commit_timeout,
            )
        except TransactionInvalid as exc:
            if exc.validation_code != "ENDORSEMENT_POLICY_FAILURE":
                raise
            raise AdminError(
                f"{exc} - the endorsing peers do not satisfy the channel's LifecycleEndorsement policy "
                "(by default a majority of organizations): pass peers of more organizations, each of "
                "which approved the definition"
            ) from exc
        except ProposalRejected as exc:
            # Someone else committed it between our check and our proposal.
            if "new definition must be sequence" in exc.reason:
                previous = _committed_one(admin, channel_id, definition.name)
                if previous is not None and previous.sequence >= definition.sequence:
                    return _already_committed(definition, previous, channel_id)
            raise
    return CommitResult(
        transaction_id=committed.transaction_id, block_number=committed.block_number, already_committed=False
    )


def query_committed(
    admin: PeerAdmin, channel_id: str, name: str | None = None
) -> tuple[CommittedDefinition, ...]:
    """The committed chaincode definitions on the channel, or only the one named ``name``.

    For a named chaincode the result also carries the organizations' approvals; a name with no
    committed definition gives an empty tuple.

    Raises:
        AdminError: the peer is unreachable or refused (e.g. it has not joined the channel).
    """
    if name is not None:
        found = _committed_one(admin, channel_id, name)
        return () if found is None else (found,)
    args = lifecycle_pb2.QueryChaincodeDefinitionsArgs().SerializeToString()
    payload = query(
        admin.connection,
        admin.signing,
        channel_id,
        LIFECYCLE,
        [b"QueryChaincodeDefinitions", args],
        f"query committed chaincode on {channel_id}",
        timeout=admin.timeout,
    )
    result = lifecycle_pb2.QueryChaincodeDefinitionsResult.FromString(payload)
    return tuple(CommittedDefinition.from_proto(d.name, d) for d in result.chaincode_definitions)


def _committed_one(admin: PeerAdmin, channel_id: str, name: str) -> CommittedDefinition | None:
    args = lifecycle_pb2.QueryChaincodeDefinitionArgs(name=name).SerializeToString()
    try:
        payload = query(
            admin.connection,
            admin.signing,
            channel_id,
            LIFECYCLE,
            [b"QueryChaincodeDefinition", args],
            f"query committed definition of {name} on {channel_id}",
            timeout=admin.timeout,
        )
    except ProposalRejected as exc:
        if exc.status == 404:  # "namespace <name> is not defined"
            return None
        raise
    return CommittedDefinition.from_proto(
        name, lifecycle_pb2.QueryChaincodeDefinitionResult.FromString(payload)
    )


def _already_committed(
    definition: ChaincodeDefinition, previous: CommittedDefinition, channel_id: str
) -> CommitResult:
    if definition.matches(previous):
        return CommitResult(transaction_id="", block_number=None, already_committed=True)
    if previous.sequence > definition.sequence:
        raise AdminError(
            f"cannot commit {definition.name} sequence {definition.sequence} on {channel_id}: sequence "
            f"{previous.sequence} is already committed; "
            f"use sequence {previous.sequence + 1} for a new definition"
        )
    raise AdminError(
        f"cannot commit {definition.name} sequence {definition.sequence} on {channel_id}: that sequence is "
        f"already committed with a different definition (version {previous.version!r}, endorsement policy "
        f"{previous.endorsement_policy!r}); use sequence {previous.sequence + 1} to change it"
    )
