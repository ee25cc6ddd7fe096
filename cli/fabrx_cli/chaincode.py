"""``fabrx chaincode deploy | invoke | query``: the consortium's chaincodes, as a developer uses them."""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any

import click

import fabrx
from fabrx_network import open_network

from .main import CliContext, cli


@cli.group()
def chaincode() -> None:
    """Deploy chaincodes and call them as an organization's SDK client."""


@chaincode.command()
@click.argument("names", nargs=-1)
@click.pass_obj
def deploy(obj: CliContext, names: tuple[str, ...]) -> None:
    """Package, start, install, approve and commit chaincodes (all of the consortium file by default)."""
    net = open_network(obj.config_path, obj.run_dir)
    net.require_up()
    result = net.deploy_chaincodes(list(names) or None, progress=obj.output.progress)
    obj.output.result(result, lambda d: "\n".join(f"{name}: {pid}" for name, pid in d.items()))


def _call(
    obj: CliContext, org: str, channel: str, name: str, function: str, args: tuple[str, ...], submit: bool
) -> None:
    net = open_network(obj.config_path, obj.run_dir)
    organization = net.consortium.org(org)
    net.require_up(organization)
    identity, signer, _ = fabrx.load_msp_folder(organization.msp_id, net.client_msp(organization))
    with fabrx.connect(
        net.peer_endpoint(organization, organization.peers[0]), identity=identity, signer=signer
    ) as gw:
        contract = gw.get_network(channel).get_contract(name)
        call = contract.submit_transaction if submit else contract.evaluate_transaction
        result = call(function, *args)
    obj.output.result(result_data(result), lambda _: result.decode("utf-8", "replace"))


def result_data(result: bytes) -> dict[str, Any]:
    """A chaincode's result for ``--json``: JSON as JSON, other text as a string, other bytes as base64.

    ``format`` says which (``json``, ``text``, ``base64``), so a script never decodes twice.
    """
    try:
        text = result.decode("utf-8")
    except UnicodeDecodeError:
        return {"format": "base64", "result": base64.b64encode(result).decode("ascii")}
    try:
        return {"format": "json", "result": json.loads(text)}
    except ValueError:
        return {"format": "text", "result": text}


_org_option = click.option(
    "--org", required=True, help="Organization whose SDK client identity calls (e.g. HospitalA)."
)
_channel_option = click.option("--channel", default="pharma", show_default=True)


@chaincode.command()
@_org_option
@_channel_option
@click.argument("name")
@click.argument("function")
@click.argument("args", nargs=-1)
@click.pass_obj
def invoke(obj: CliContext, org: str, channel: str, name: str, function: str, args: tuple[str, ...]) -> None:
    """Submit FUNCTION of chaincode NAME and wait until it is committed; print its result."""
    _call(obj, org, channel, name, function, args, submit=True)


@chaincode.command()
@_org_option
@_channel_option
@click.argument("name")
@click.argument("function")
@click.argument("args", nargs=-1)
@click.pass_obj
def query(obj: CliContext, org: str, channel: str, name: str, function: str, args: tuple[str, ...]) -> None:
    """Evaluate FUNCTION of chaincode NAME on the organization's peer (nothing is written)."""
    _call(obj, org, channel, name, function, args, submit=False)


@chaincode.command()
@click.argument("contracts", nargs=-1, required=True)
def serve(contracts: tuple[str, ...]) -> None:
    """Serve CONTRACTS (``module:Class``) as chaincode-as-a-service, until interrupted.

    Same as ``python -m fabrx_chaincode``: the CCaaS environment names the chaincode id
    (CHAINCODE_ID), the listen address (CHAINCODE_SERVER_ADDRESS) and the TLS files (CHAINCODE_TLS_KEY,
    CHAINCODE_TLS_CERT, CHAINCODE_CLIENT_CA_CERT; CHAINCODE_TLS_DISABLED=true for plain text).
    `fabrx network up` starts the chaincodes of the consortium file this way by itself.
    """
    # The chaincode runtime does not depend on the client SDK, so its errors have their own root.
    from fabrx_chaincode import ChaincodeError, ServerConfig, load_contracts
    from fabrx_chaincode import serve as serve_contracts

    # Like `python -m`, resolve contract modules from the current directory too.
    sys.path.insert(0, os.getcwd())
    try:
        config = ServerConfig.from_environment()
        serve_contracts(
            load_contracts(list(contracts)),
            address=config.address,
            chaincode_id=config.chaincode_id,
            tls=config.tls,
        )
    except ChaincodeError as exc:
        raise click.ClickException(str(exc)) from exc
