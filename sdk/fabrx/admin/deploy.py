"""Deploying a chaincode end to end: install everywhere, approve per organization, commit.

:func:`deploy` is the whole lifecycle for a deployer that holds an admin identity of every
organization (as fabrx's own consortium tooling does). Each step is idempotent, so running it again
after a partial failure finishes the job, and the report says which steps had been done before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..endpoint import Endpoint
from ..errors import AdminError, ArgumentError
from ._endorse import DEFAULT_COMMIT_TIMEOUT
from .ccaas import ChaincodePackage, package_id
from .definition import ChaincodeDefinition, CommittedDefinition
from .lifecycle import (
    ApproveResult,
    CommitReadiness,
    CommitResult,
    approve_for_my_org,
    check_commit_readiness,
    commit,
    query_committed,
)
from .peer import InstallResult, PeerAdmin

__all__ = ["DeployReport", "deploy"]

_POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class DeployReport:
    """What :func:`deploy` did: per peer install, per organization approval, readiness and commit.

    ``readiness`` is ``None`` when the definition was already committed (nothing left to check).
    ``package_id`` is the package of the submitting (first) organization; ``package_ids`` has each
    organization's (by MSP id).
    """

    package_id: str
    installs: tuple[tuple[str, InstallResult], ...]
    approvals: tuple[ApproveResult, ...]
    readiness: CommitReadiness | None
    commit: CommitResult
    committed: CommittedDefinition
    package_ids: Mapping[str, str] = field(default_factory=dict)


def deploy(
    admins: Sequence[PeerAdmin],
    channel_id: str,
    definition: ChaincodeDefinition,
    package: ChaincodePackage | bytes | Mapping[str, ChaincodePackage | bytes],
    *,
    orderer: Endpoint,
    commit_timeout: float = DEFAULT_COMMIT_TIMEOUT,
    progress: Callable[[str], None] = lambda _: None,
) -> DeployReport:
    """Install ``package`` on every admin's peer, approve ``definition`` for every organization, commit.

    ``progress`` is called with one line before each step (``kv: install on 127.0.0.1:7051 (Org1MSP)``,
    ``kv: approve for Org1MSP``, ``kv: commit on mychannel (sequence 1)`` ...), for a person watching a
    deployment that takes seconds per step.

    ``admins`` holds one :class:`PeerAdmin` per peer to install on; the first admin of each MSP id
    approves for its organization, and one peer per organization endorses the commit (signed by the
    first admin). ``package`` is one package for every peer, or a package per MSP id when each
    organization runs its own chaincode server (chaincode as a service: each package names its own
    organization's server); each organization approves ``definition`` with its own package's id.

    Raises:
        ArgumentError: no admins, or no package for an admin's MSP id.
        AdminError: any step failed (the message names the step, peer or organization); the steps
            done before stay done, so the deployment can simply be run again.
    """
    if not admins:
        raise ArgumentError("deploy needs at least one PeerAdmin")

    def data_of(item: ChaincodePackage | bytes) -> bytes:
        return item.data if isinstance(item, ChaincodePackage) else item

    if isinstance(package, Mapping):
        packages = {msp_id: data_of(item) for msp_id, item in package.items()}
        missing = sorted({a.msp_id for a in admins} - set(packages))
        if missing:
            raise ArgumentError(f"deploy {definition.name}: no package for {', '.join(missing)}")
    else:
        data = data_of(package)
        packages = {admin.msp_id: data for admin in admins}
    ids = {msp_id: package_id(data) for msp_id, data in packages.items()}
    name = definition.name
    installs = []
    for admin in admins:
        progress(f"{name}: install on {admin.endpoint.address} ({admin.msp_id})")
        installs.append((admin.endpoint.address, admin.install(packages[admin.msp_id])))

    per_org: dict[str, PeerAdmin] = {}
    for admin in admins:
        per_org.setdefault(admin.msp_id, admin)
    approvals = []
    for msp_id, admin in per_org.items():
        progress(f"{name}: approve for {msp_id}")
        approvals.append(
            approve_for_my_org(
                admin,
                channel_id,
                replace(definition, package_id=ids[msp_id]),
                orderer=orderer,
                commit_timeout=commit_timeout,
            )
        )
    definition = replace(definition, package_id=ids[next(iter(per_org))])

    submitter, *others = per_org.values()
    # Each approval was waited for on its own organization's peer only. The commit is simulated on one
    # peer per organization and reads every approval: a peer that has not committed the last one yet
    # returns a different result, and the endorsements cannot be assembled.
    latest = max((a.block_number for a in approvals if a.block_number is not None), default=None)
    if latest is not None:
        progress(f"{name}: wait for every organization's peer to commit the approvals (block {latest})")
        _wait_for_block(list(per_org.values()), channel_id, latest, timeout=commit_timeout)
    readiness = None
    existing = query_committed(submitter, channel_id, definition.name)
    if not existing or existing[0].sequence < definition.sequence:
        readiness = check_commit_readiness(submitter, channel_id, definition)
        missing = [msp_id for msp_id in per_org if not readiness.approvals.get(msp_id, False)]
        if missing:
            details = "; ".join(
                f"{m}: {', '.join(readiness.mismatches.get(m, ())) or 'no approval'}" for m in missing
            )
            raise AdminError(
                f"deploy {definition.name} on {channel_id}: approvals did not take effect for {details}"
            )
    progress(f"{name}: commit on {channel_id} (sequence {definition.sequence})")
    result = commit(
        submitter,
        channel_id,
        definition,
        orderer=orderer,
        peers=[admin.endpoint for admin in others],
        commit_timeout=commit_timeout,
    )
    committed = query_committed(submitter, channel_id, definition.name)
    if not committed:
        raise AdminError(
            f"deploy {definition.name} on {channel_id}: committed definition not found afterwards"
        )
    return DeployReport(
        package_id=definition.package_id,
        installs=tuple(installs),
        approvals=tuple(approvals),
        readiness=readiness,
        commit=result,
        committed=committed[0],
        package_ids={msp_id: ids[msp_id] for msp_id in per_org},
    )


def _wait_for_block(
    admins: Sequence[PeerAdmin], channel_id: str, block_number: int, *, timeout: float
) -> None:
    """Wait until every admin's peer has committed ``block_number`` of ``channel_id``.

    Raises:
        AdminError: a peer is still behind after ``timeout`` seconds (named, with its height).
    """
    deadline = time.monotonic() + timeout
    for admin in admins:
        while (height := admin.chain_info(channel_id).height) <= block_number:
            if time.monotonic() > deadline:
                raise AdminError(
                    f"peer {admin.endpoint.address} of {admin.msp_id} has not committed block {block_number} "
                    f"of {channel_id} after {timeout:g} s (its height is {height})"
                )
            time.sleep(_POLL_INTERVAL)
