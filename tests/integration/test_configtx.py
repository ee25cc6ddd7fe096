"""The rendered configtx.yaml is accepted by the real configtxgen for every orderer variant.

Uses the Fabric that `make fabric` installed; fails, never skips, when it is missing. Certificates are
throwaway ones made here (one CA per organization), laid out where the run directory expects them.
"""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from netsupport import installed_fabric

from fabrx_network.config import Consortium, load_consortium
from fabrx_network.layout import RunLayout
from fabrx_network.render import render_network, write_rendered

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONSORTIUM = REPO / "network" / "consortium.yaml"


class _Paths:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.ca_bin_dir = bin_dir
        self.config_dir = bin_dir.parent / "config"


def _configtxgen() -> Path:
    return installed_fabric().binary("configtxgen")


class _Ca:
    """A throwaway CA issuing certificates with node OUs, like an organization's Fabric CA."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"ca.{name}")])
        self.cert = (
            self._builder(self.name, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def _builder(self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    def issue(self, common_name: str, ou: str) -> x509.Certificate:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        return (
            self._builder(subject, key.public_key())
            .add_extension(san, critical=False)
            .sign(self.key, hashes.SHA256())
        )


def _write_pem(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _enroll_offline(consortium: Consortium, layout: RunLayout) -> None:
    """The certificates configtxgen reads: org MSP CA certs, orderer TLS certs and orderer identities."""
    for org in (consortium.orderer_org.name, *(o.name for o in consortium.orgs)):
        ca = _Ca(org)
        msp = layout.org_msp(org)
        _write_pem(msp.ca_cert, ca.cert)
        _write_pem(msp.tls_ca_cert, ca.cert)
        if org == consortium.orderer_org.name:
            for orderer in consortium.orderer_org.orderers:
                _write_pem(layout.orderer_tls(org, orderer.name).cert, ca.issue(orderer.name, "orderer"))
                _write_pem(layout.orderer_msp(org, orderer.name).signcert, ca.issue(orderer.name, "orderer"))


@pytest.mark.integration
@pytest.mark.parametrize("variant", ["raft1", "raft3", "bft4"])
def test_configtxgen_builds_the_genesis_block_of_each_variant(variant: str, tmp_path: Path) -> None:
    configtxgen = _configtxgen()
    consortium = load_consortium(DEFAULT_CONSORTIUM, consensus=variant)
    layout = RunLayout(tmp_path / "run")
    rendered = render_network(
        consortium,
        layout,
        _Paths(configtxgen.parent),
        {o: "pw" for o in ("Orderer", *(x.name for x in consortium.orgs))},
    )
    write_rendered(rendered, layout)
    _enroll_offline(consortium, layout)

    for channel in consortium.channels:
        block = layout.channel_block(channel.name)
        result = subprocess.run(
            [
                str(configtxgen),
                "-configPath",
                str(layout.config_dir),
                "-profile",
                channel.name,
                "-channelID",
                channel.name,
                "-outputBlock",
                str(block),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"configtxgen failed for {variant}:\n{result.stderr[-3000:]}"
        assert block.stat().st_size > 1000

        inspected = subprocess.run(
            [str(configtxgen), "-inspectBlock", str(block)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert ('"type": "BFT"' if variant == "bft4" else '"type": "etcdraft"') in inspected.stdout
        assert '"timeout": "20ms"' in inspected.stdout
        for org in consortium.channel_orgs(channel):
            assert f'"{org.msp_id}"' in inspected.stdout
