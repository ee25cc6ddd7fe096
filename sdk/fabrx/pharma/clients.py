"""The role facades of every organization of a running consortium, over one Gateway each.

:class:`PharmaClients` takes anything shaped like ``fabrx_network.ConsortiumNetwork`` (its
``consortium.orgs`` with ``name``, ``msp_id``, ``role`` and ``peers``, ``client_msp(org)`` and
``peer_endpoint(org, peer)``), so the SDK does not depend on the network tooling.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from ..endpoint import Endpoint
from ..gateway import Gateway, connect
from ..identity import load_msp_folder
from ._base import DEFAULT_REGULATOR, PharmaClient
from .distributor import Distributor
from .hospital import Hospital
from .manufacturer import Manufacturer
from .regulator import Regulator

__all__ = ["CHAINCODE_NAME", "CHANNEL_NAME", "PARTY_ATTRIBUTE", "NetworkLike", "PharmaClients"]

CHANNEL_NAME = "pharma"
CHAINCODE_NAME = "pharma"
PARTY_ATTRIBUTE = "fabrx.party"
"""The certificate attribute naming the hosted party a client acts for (``Identity.attributes``)."""

F = TypeVar("F", bound=PharmaClient)


class NetworkLike(Protocol):
    """What :class:`PharmaClients` needs of a ``fabrx_network.ConsortiumNetwork``."""

    @property
    def consortium(self) -> Any: ...
    def client_msp(self, org: Any, user: str = "client") -> Path: ...
    def peer_endpoint(self, org: Any, peer: Any) -> Endpoint: ...


class PharmaClients:
    """Lazily opened Gateways, one per client identity (on its organization's own peer), and their
    facades.

    ``clients.regulator``, ``clients.manufacturer``, ``clients.distributor("DistributorAMSP")``,
    ``clients.hospital("HospitalAMSP")``: the facades of member organizations, acting for themselves
    through the organization's SDK client; an organization is named by its MSP id or its name.

    A party hosted on a member's node (节点账号) has its own client identity, enrolled by the member's
    Fabric CA with ``fabrx.party=<party_id>`` (and ``fabrx.role``) in its certificate. Give
    :meth:`hosted` that client's MSP folder::

        clinic = clients.hosted(Hospital, "CLINIC-0001", "CityHost", Path("clinic/msp"))

    It opens a Gateway of its own on the host's peer, as that identity; the facade acts for the party,
    and its writes are endorsed by the host and the regulator.

    Close it (or use it as a context manager) to close the Gateways it opened.
    """

    def __init__(self, network: NetworkLike, *, regulator_msp_id: str = DEFAULT_REGULATOR) -> None:
        self._network = network
        self._regulator_msp_id = regulator_msp_id
        # By (MSP id, party id); the party id of an organization's own client is its MSP id.
        self._gateways: dict[tuple[str, str], Gateway] = {}

    def _org(self, name: str) -> Any:
        for org in self._network.consortium.orgs:
            if name in (org.msp_id, org.name):
                return org
        known = ", ".join(org.msp_id for org in self._network.consortium.orgs)
        raise KeyError(f"no organization {name!r} in the consortium; known MSP ids: {known}")

    def _connect(self, org: Any, party_id: str, msp_folder: Path) -> Gateway:
        key = (str(org.msp_id), party_id)
        if key not in self._gateways:
            identity, signer, _ = load_msp_folder(org.msp_id, msp_folder)
            if party_id != org.msp_id:
                carried = identity.attributes.get(PARTY_ATTRIBUTE)
                if carried != party_id:
                    raise ValueError(
                        f"the client in {msp_folder} carries {PARTY_ATTRIBUTE}={carried!r}, not "
                        f"{party_id!r}: enroll it with {PARTY_ATTRIBUTE}={party_id} (and ecert=true)"
                    )
            endpoint = self._network.peer_endpoint(org, org.peers[0])
            self._gateways[key] = connect(endpoint, identity=identity, signer=signer)
        return self._gateways[key]

    def gateway(self, name: str) -> Gateway:
        """The Gateway of organization ``name`` (MSP id or name), opened on first use."""
        org = self._org(name)
        return self._connect(org, str(org.msp_id), self._network.client_msp(org))

    def facade(self, cls: type[F], name: str) -> F:
        """A facade of class ``cls`` for organization ``name``, acting for the organization itself."""
        org = self._org(name)
        contract = self.gateway(name).get_network(CHANNEL_NAME).get_contract(CHAINCODE_NAME)
        return cls(contract, org.msp_id, regulator_msp_id=self._regulator_msp_id)

    def hosted(self, cls: type[F], party_id: str, org_name: str, msp_folder: str | Path) -> F:
        """A facade of class ``cls`` for ``party_id``, a party hosted by organization ``org_name`` (MSP
        id or name), through the client whose MSP folder is ``msp_folder``.

        That client must be enrolled by the organization's CA with ``fabrx.party=<party_id>`` in its
        certificate: the chaincode takes the party from it. Its Gateway connects to the organization's
        first peer and is opened once per party.

        Raises ``KeyError`` for an unknown organization, ``ValueError`` if the certificate does not
        carry ``fabrx.party=<party_id>``, :class:`~fabrx.IdentityError` for an unreadable MSP folder.
        """
        org = self._org(org_name)
        gateway = self._connect(org, party_id, Path(msp_folder))
        contract = gateway.get_network(CHANNEL_NAME).get_contract(CHAINCODE_NAME)
        return cls(contract, party_id, msp_id=org.msp_id, regulator_msp_id=self._regulator_msp_id)

    @property
    def regulator(self) -> Regulator:
        return self.facade(Regulator, self._regulator_msp_id)

    @property
    def manufacturer(self) -> Manufacturer:
        """The first organization whose role is manufacturer."""
        return self.facade(Manufacturer, self._first_of_role("manufacturer"))

    def distributor(self, name: str) -> Distributor:
        return self.facade(Distributor, name)

    def hospital(self, name: str) -> Hospital:
        return self.facade(Hospital, name)

    def _first_of_role(self, role: str) -> str:
        for org in self._network.consortium.orgs:
            if str(getattr(org.role, "value", org.role)) == role:
                return str(org.msp_id)
        raise KeyError(f"no organization with role {role} in the consortium")

    def close(self) -> None:
        for gateway in self._gateways.values():
            gateway.close()
        self._gateways.clear()

    def __enter__(self) -> PharmaClients:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
