"""A channel's genesis block: ``configtxgen`` over a rendered ``configtx.yaml``.

The one-machine consortium renders every organization from its own run directory. The orderer
organization's own host has no member's files: each founding member hands it a join request (its public
MSP definition: CA and TLS CA certificates, node OUs, anchor peers), which :func:`write_msp_folder` turns
back into the MSP folder ``configtxgen`` reads. Nothing in either holds a private key.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from fabrx.admin import JoinRequest

from .errors import NetworkError
from .install import FabricInstall
from .process import NODE_UMASK

__all__ = ["create_genesis_block", "write_msp_folder"]


def create_genesis_block(install: FabricInstall, configtx_file: Path, channel: str, block: Path) -> None:
    """Run ``configtxgen`` on ``configtx_file`` (profile ``channel``); the genesis block goes to ``block``.

    Raises:
        NetworkError: configtxgen is missing or refused the file (its last lines, and the file).
    """
    argv = [
        str(install.binary("configtxgen")),
        "-configPath",
        str(configtx_file.parent),
        "-profile",
        channel,
        "-outputBlock",
        str(block),
        "-channelID",
        channel,
    ]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False, umask=NODE_UMASK)
    except OSError as exc:
        raise NetworkError(
            f"cannot run {argv[0]}: {exc.strerror}. Fix: install Fabric with `fabrx fabric install`."
        ) from exc
    if result.returncode != 0:
        raise NetworkError(
            f"configtxgen could not create the genesis block of channel {channel}:\n"
            + "\n".join(result.stderr.strip().splitlines()[-8:])
            + f"\nThe rendered file is {configtx_file}."
        )


def write_msp_folder(request: JoinRequest, folder: Path) -> Path:
    """Write the organization MSP folder of ``request`` (``configtxgen``'s ``MSPDir`` layout) into
    ``folder``: ``cacerts/``, ``intermediatecerts/``, ``tlscacerts/``, ``tlsintermediatecerts/`` and the
    node OU settings in ``config.yaml``. Returns ``folder``."""
    for name, certs in (
        ("cacerts", request.root_certs),
        ("intermediatecerts", request.intermediate_certs),
        ("tlscacerts", request.tls_root_certs),
        ("tlsintermediatecerts", request.tls_intermediate_certs),
    ):
        if certs:
            (folder / name).mkdir(parents=True, exist_ok=True)
        for index, pem in enumerate(certs):
            (folder / name / f"cert-{index}.pem").write_bytes(pem)
    folder.mkdir(parents=True, exist_ok=True)
    if request.node_ous:
        ous = {
            f"{role.capitalize()}OUIdentifier": {"OrganizationalUnitIdentifier": ou}
            for role, ou in request.node_ous.items()
        }
        (folder / "config.yaml").write_text(
            yaml.safe_dump({"NodeOUs": {"Enable": True, **ous}}, sort_keys=False), encoding="utf-8"
        )
    return folder
