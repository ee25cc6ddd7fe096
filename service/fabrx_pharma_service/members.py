"""The seam between the HTTP service and Fabric: a member organization's role facades, per identity.

:class:`GatewayMember` opens one Gateway per Fabric identity of the member, on the member's own peer,
the first time an application mapped to that identity calls; the identity's private key is loaded
from the member's MSP folders (``users/<name>/msp``) or a wallet and only signs locally. Tests put a
fake :class:`Member` here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fabrx import (
    Endpoint,
    FileSystemWallet,
    Gateway,
    Identity,
    Signer,
    connect,
    load_msp_folder,
)
from fabrx.errors import IdentityError
from fabrx.pharma import Distributor, Hospital, Manufacturer, PharmaClient, RecordNotFound, Regulator
from fabrx.pharma.clients import PARTY_ATTRIBUTE
from fabrx_pharma import Role

__all__ = [
    "FACADES",
    "GatewayMember",
    "IdentitySource",
    "Member",
    "TransactionStatus",
    "msp_users",
    "wallet_identities",
]

FACADES: dict[Role, type[PharmaClient]] = {
    Role.REGULATOR: Regulator,
    Role.MANUFACTURER: Manufacturer,
    Role.DISTRIBUTOR: Distributor,
    Role.HOSPITAL: Hospital,
}

IdentitySource = Callable[[str], tuple[Identity, Signer]]
"""Loads a named Fabric identity of the member: its certificate and a signer over its private key."""


@dataclass(frozen=True)
class TransactionStatus:
    """How a transaction ended on the member's peer: its validation code and block."""

    transaction_id: str
    validation_code: str
    """``VALID``, or why the peer refused it (``MVCC_READ_CONFLICT``, ``ENDORSEMENT_POLICY_FAILURE`` ...)."""
    block_number: int

    @property
    def valid(self) -> bool:
        return self.validation_code == "VALID"

    def to_dict(self) -> dict[str, object]:
        return {
            "transaction_id": self.transaction_id,
            "validation_code": self.validation_code,
            "valid": self.valid,
            "block_number": self.block_number,
        }


class Member(Protocol):
    """What the service needs of the member organization it acts for."""

    @property
    def msp_id(self) -> str: ...

    def facade(self, identity: str, role: Role) -> PharmaClient:
        """The facade of ``role`` acting through the member's Fabric identity ``identity``."""
        ...

    def transaction_status(self, identity: str, transaction_id: str) -> TransactionStatus:
        """The transaction's status on the member's peer; ``RecordNotFound`` if the peer has none."""
        ...

    def close(self) -> None: ...


def msp_users(msp_id: str, users_dir: str | Path) -> IdentitySource:
    """Identities from the member's MSP folders: ``<users_dir>/<name>/msp`` (the run directory's
    ``orgs/<Org>/users``)."""
    root = Path(users_dir)

    def load(name: str) -> tuple[Identity, Signer]:
        identity, signer, _ = load_msp_folder(msp_id, root / name / "msp")
        return identity, signer

    return load


def wallet_identities(wallet: FileSystemWallet) -> IdentitySource:
    """Identities from a wallet folder, by label."""

    def load(label: str) -> tuple[Identity, Signer]:
        entry = wallet.get(label)
        if entry is None:
            raise IdentityError(f"no identity {label!r} in wallet {wallet.directory}")
        return entry.identity, entry.signer

    return load


class GatewayMember:
    """A member organization reached on its own peer, through any of its Fabric identities.

    ``channel`` and ``chaincode`` name the pharma channel and contract; ``regulator_msp_id`` the regulator
    whose peer co-endorses every write. Thread-safe; :meth:`close` closes every Gateway it opened.
    """

    def __init__(
        self,
        msp_id: str,
        endpoint: Endpoint,
        identities: IdentitySource,
        *,
        channel: str = "pharma",
        chaincode: str = "pharma",
        regulator_msp_id: str = "RegulatorMSP",
    ) -> None:
        self._msp_id = msp_id
        self._endpoint = endpoint
        self._identities = identities
        self._channel = channel
        self._chaincode = chaincode
        self._regulator_msp_id = regulator_msp_id
        self._gateways: dict[str, Gateway] = {}
        self._parties: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def msp_id(self) -> str:
        return self._msp_id

    def gateway(self, identity: str) -> Gateway:
        with self._lock:
            if identity not in self._gateways:
                fabric_identity, signer = self._identities(identity)
                if fabric_identity.msp_id != self._msp_id:
                    raise IdentityError(
                        f"identity {identity} belongs to {fabric_identity.msp_id}, not {self._msp_id}"
                    )
                self._gateways[identity] = connect(self._endpoint, identity=fabric_identity, signer=signer)
                # A hosted party's client carries fabrx.party in its certificate (the chaincode takes
                # the party from there); the member's own clients act for the member.
                party = fabric_identity.attributes.get(PARTY_ATTRIBUTE)
                self._parties[identity] = party or self._msp_id
            return self._gateways[identity]

    def facade(self, identity: str, role: Role) -> PharmaClient:
        """The facade of ``role`` for the party ``identity`` acts for: a hosted party when its
        certificate names one (``fabrx.party``, enrolled by the member's CA), else the member."""
        contract = self.gateway(identity).get_network(self._channel).get_contract(self._chaincode)
        return FACADES[role](
            contract,
            self._parties[identity],
            msp_id=self._msp_id,
            regulator_msp_id=self._regulator_msp_id,
        )

    def transaction_status(self, identity: str, transaction_id: str) -> TransactionStatus:
        network = self.gateway(identity).get_network(self._channel)
        status = network.transaction_status(transaction_id)
        if status is None:
            raise RecordNotFound(
                "NOT_FOUND", "transaction_id", f"the member's peer has no transaction {transaction_id} (yet)"
            )
        return TransactionStatus(transaction_id, status.code.name, status.block_number)

    def close(self) -> None:
        with self._lock:
            for gateway in self._gateways.values():
                gateway.close()
            self._gateways.clear()
