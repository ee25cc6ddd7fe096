"""The organization admins of a run directory, as the channel administration commands use them.

A member on its own host has one admin identity (an MSP folder) and its own peers; in the one-machine
consortium every organization's admin lives in the run directory (``orgs/<org>/users/admin``). This
module finds them by organization name or MSP id, so commands can act "as" one organization.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fabrx import Endpoint, Identity, load_msp_folder
from fabrx.admin import PeerAdmin
from fabrx.ca import CAClient, Enrollment
from fabrx.signing import Signer

from .config import ORG_ADMIN_USER, Organization
from .errors import NetworkError
from .identities import bootstrap_password
from .operations import ConsortiumNetwork
from .render import CA_BOOTSTRAP_USER

__all__ = ["OrgAdmin", "org_admin", "org_admin_name", "org_registrar"]


@dataclass(frozen=True)
class OrgAdmin:
    """An organization's admin identity, with one of its organization's peers and an orderer.

    :func:`org_admin` finds them in a run directory (``peer`` is ``None`` for the orderer
    organization); :meth:`from_files` takes them from a member's own files on its own host.
    """

    name: str
    msp_id: str
    msp_dir: Path
    identity: Identity
    signer: Signer
    peer: PeerAdmin | None
    orderer: Endpoint | None

    @classmethod
    def from_files(
        cls, msp_id: str, msp_dir: Path, *, peer: Endpoint | None = None, orderer: Endpoint | None = None
    ) -> OrgAdmin:
        """The admin whose MSP folder is ``msp_dir`` (``signcerts/``, ``keystore/``), with its own peer
        and an orderer of the channel where given.

        Raises:
            IdentityError: the folder holds no single certificate and key.
        """
        identity, signer, _ = load_msp_folder(msp_id, msp_dir)
        admin_peer = PeerAdmin(peer, identity, signer) if peer is not None else None
        return cls(msp_id, msp_id, msp_dir, identity, signer, admin_peer, orderer)

    def require_orderer(self) -> Endpoint:
        """The orderer to send updates to.

        Raises:
            NetworkError: none was given.
        """
        if self.orderer is None:
            raise NetworkError(f"no orderer given for {self.name}: name one (host:port and its TLS CA)")
        return self.orderer

    def require_peer(self) -> PeerAdmin:
        """The admin's handle on its organization's peer.

        Raises:
            NetworkError: the organization runs no peer (the orderer organization).
        """
        if self.peer is None:
            raise NetworkError(
                f"no peer of {self.name} to use: act as an application organization's admin with a peer"
            )
        return self.peer


def org_admin_name(network: ConsortiumNetwork, org: str) -> str:
    """The name of organization ``org`` (given by name or MSP id), the orderer organization included.

    Raises:
        NetworkError: the consortium has no such organization.
    """
    consortium = network.consortium
    orderer_org = consortium.orderer_org
    if org in (orderer_org.name, orderer_org.msp_id):
        return orderer_org.name
    for candidate in consortium.orgs:
        if org in (candidate.name, candidate.msp_id):
            return candidate.name
    names = ", ".join([orderer_org.name, *(o.name for o in consortium.orgs)])
    raise NetworkError(
        f"consortium {consortium.name} has no organization {org!r} (its organizations: {names})"
    )


def org_admin(network: ConsortiumNetwork, org: str) -> OrgAdmin:
    """The admin of organization ``org`` (its name, e.g. ``HospitalA``, or MSP id, e.g. ``HospitalAMSP``).

    Raises:
        NetworkError: the consortium has no such organization, or its admin MSP folder is unusable.
    """
    consortium = network.consortium
    orderer_org = consortium.orderer_org
    found: Organization | None = next((o for o in consortium.orgs if org in (o.name, o.msp_id)), None)
    if found is None and org not in (orderer_org.name, orderer_org.msp_id):
        names = ", ".join([orderer_org.name, *(o.name for o in consortium.orgs)])
        raise NetworkError(
            f"consortium {consortium.name} has no organization {org!r} (its organizations: {names})"
        )
    name = found.name if found else orderer_org.name
    msp_id = found.msp_id if found else orderer_org.msp_id
    msp_dir = network.layout.user_msp(name, ORG_ADMIN_USER).path
    if not msp_dir.is_dir():
        raise NetworkError(f"no admin identity for {name} in {network.run_dir}: is the network up?")
    identity, signer, _ = load_msp_folder(msp_id, msp_dir)
    peer = network.peer_admin(found, found.peers[0]) if found and found.peers else None
    return OrgAdmin(
        name=name,
        msp_id=msp_id,
        msp_dir=msp_dir,
        identity=identity,
        signer=signer,
        peer=peer,
        orderer=network.orderer_endpoint(),
    )


def org_registrar(network: ConsortiumNetwork, org: str) -> tuple[CAClient, Enrollment]:
    """A client of organization ``org``'s Fabric CA and its registrar (the CA's bootstrap admin), enrolled
    now, to register, enroll and revoke the organization's identities. Close the client when done.

    Raises:
        NetworkError: no such organization, or its CA has no bootstrap secret in the run directory.
        CAError: the CA refused or is unreachable.
    """
    name = org_admin_name(network, org)
    secret = network.layout.ca_bootstrap_secret(name)
    if not secret.exists():
        raise NetworkError(f"no CA bootstrap secret for {name} in {network.run_dir}: is the network up?")
    consortium = network.consortium
    ca = consortium.orderer_org.ca if name == consortium.orderer_org.name else consortium.org(name).ca
    client = CAClient(
        f"https://{consortium.host}:{ca.port}",
        tls_root_certs=network.layout.ca_cert(name).read_bytes(),
        ca_name=f"ca-{name}",
    )
    try:
        registrar = client.enroll(CA_BOOTSTRAP_USER, bootstrap_password(network.layout, name))
    except BaseException:
        client.close()
        raise
    return client, registrar
