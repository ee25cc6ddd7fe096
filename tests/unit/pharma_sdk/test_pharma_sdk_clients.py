"""PharmaClients: one Gateway per organization, and facades of parties hosted by an organization."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pharma_sdk_fakes import NOW

from fabrx import Endpoint
from fabrx.pharma import Distributor, Hospital, PharmaClients
from fabrx_chaincode.identity import ATTRIBUTES_OID


def _msp_folder(folder: Path, attributes: dict[str, str]) -> Path:
    """An MSP folder of a client whose certificate carries ``attributes`` as Fabric CA writes them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clinic-client")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW.replace(year=2024))
        .not_valid_after(NOW.replace(year=2026))
        .add_extension(
            x509.UnrecognizedExtension(ATTRIBUTES_OID, json.dumps({"attrs": attributes}).encode()),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (folder / "signcerts").mkdir(parents=True)
    (folder / "keystore").mkdir()
    (folder / "signcerts" / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "keystore" / "key_sk").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder


class _Network:
    """A consortium of one hosting member whose peer is never dialled (Gateways connect lazily)."""

    def __init__(self, own_client: Path) -> None:
        org = SimpleNamespace(name="CityHost", msp_id="CityHostMSP", role="host", peers=["peer0"])
        self.consortium = SimpleNamespace(orgs=[org])
        self._own_client = own_client

    def client_msp(self, org: Any, user: str = "client") -> Path:
        return self._own_client

    def peer_endpoint(self, org: Any, peer: Any) -> Endpoint:
        return Endpoint(address="127.0.0.1:1")


def test_a_hosted_party_gets_a_facade_over_its_own_client_on_the_hosts_peer(tmp_path: Path) -> None:
    own = _msp_folder(tmp_path / "host", {"fabrx.role": "host"})
    clinic_msp = _msp_folder(tmp_path / "clinic", {"fabrx.role": "hospital", "fabrx.party": "CLINIC-0001"})
    with PharmaClients(_Network(own)) as clients:
        clinic = clients.hosted(Hospital, "CLINIC-0001", "CityHost", clinic_msp)
        member = clients.facade(Distributor, "CityHostMSP")
        assert isinstance(clinic, Hospital)
        assert (clinic.party_id, clinic.msp_id) == ("CLINIC-0001", "CityHostMSP")
        assert clinic.endorsing_organizations == ["CityHostMSP", "RegulatorMSP"]
        assert (member.party_id, member.msp_id) == ("CityHostMSP", "CityHostMSP")
        assert clients.gateway("CityHost") is clients.gateway("CityHostMSP")


def test_a_hosted_party_needs_a_client_enrolled_with_its_party_attribute(tmp_path: Path) -> None:
    own = _msp_folder(tmp_path / "host", {"fabrx.role": "host"})
    other = _msp_folder(tmp_path / "other", {"fabrx.role": "hospital", "fabrx.party": "CLINIC-0002"})
    with PharmaClients(_Network(own)) as clients:
        with pytest.raises(ValueError, match=re.escape("fabrx.party='CLINIC-0002', not 'CLINIC-0001'")):
            clients.hosted(Hospital, "CLINIC-0001", "CityHost", other)
        with pytest.raises(ValueError, match=re.escape("fabrx.party=None")):
            clients.hosted(Hospital, "CLINIC-0001", "CityHost", own)
        with pytest.raises(KeyError):
            clients.hosted(Hospital, "CLINIC-0001", "Elsewhere", other)
