"""A consortium founded as separate per-member deployments, each on its own host.

The orderer organization, the regulator, a manufacturer, a distributor and a hospital each run only their
own nodes: their own member file, run directory, loopback address (127.0.1.1 to 127.0.1.5; any 127.x.y.z
is this machine's, so each stands for another host) and `fabrx member ...` invocations. What crosses
between them are public files only: the orderer organization's TLS CA certificate, each member's join
request, the genesis block. The orderer organization creates the channel from the four join requests,
every member joins its peer with the block and approves the chaincode with its own package, the
regulator commits it endorsed by two other members' peers (found from their join requests). Then each
member acts through an SDK that holds its own identities only: the regulator registers the parties, the
manufacturer issues a first invoice, the distributor receives it and issues a second invoice, the
hospital records its receipt (with `fabrx pharma --member-file` on its host); a member that is not a party
to an invoice cannot read it.

This test starts its own five deployments (ports TEST_PORT_BASE + 1100 to + 1199); it does not touch the
shared test consortium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pytest
import yaml
from netsupport import TEST_PORT_BASE

from fabrx.pharma import AccessRefused, PharmaClients
from fabrx.pharma._story import build_story
from fabrx_network.member import open_member
from fabrx_pharma import Party, Product
from fabrx_pharma.policy import CHINA_STANDARD_TIME
from fabrx_pharma.sample import build_sample_scenario

FABRX = Path(sys.executable).with_name("fabrx")
PORTS = TEST_PORT_BASE + 1100
CHANNEL = "pharma"
CHAINCODE = {
    "name": "pharma",
    "version": "1.0",
    "endorsement_policy": "OR('RegulatorMSP.peer')",
    "runtime": {"python": "fabrx_pharma_chaincode.contract:PharmaContract"},
}
# name, role, host, port base of its nodes
MEMBERS = (
    ("Regulator", "regulator", "127.0.1.2", PORTS + 20),
    ("Manufacturer", "manufacturer", "127.0.1.3", PORTS + 40),
    ("DistributorA", "distributor", "127.0.1.4", PORTS + 60),
    ("HospitalA", "hospital", "127.0.1.5", PORTS + 80),
)
T = TypeVar("T")


def fabrx(*args: str, cwd: Path) -> str:
    """One `fabrx` invocation on a member's host (``cwd``); its stdout. Fails the test with its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("FABRX_RUN_DIR", "FABRX_CONFIG")}
    result = subprocess.run(
        [str(FABRX), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"fabrx {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def member(host: Path, *args: str) -> str:
    return fabrx("--run-dir", "run", "member", *args, "-f", str(host / "own.yaml"), cwd=host)


def hand_over(source: Path, target_host: Path, name: str) -> None:
    """A public file passed from one member's host to another's."""
    shutil.copy(source, target_host / name)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Each organization's host folder, its deployment up and the channel founded with the chaincode."""
    root = tmp_path_factory.mktemp("hosts")
    orderer = root / "Orderer"
    orderer.mkdir()
    (orderer / "own.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "Orderer",
                "msp_id": "OrdererMSP",
                "host": "127.0.1.1",
                "port_base": PORTS,
                "consensus": "etcdraft",
                "orderers": [{"name": "orderer0"}],
                "channel": {"name": CHANNEL},
            },
            sort_keys=False,
        )
    )
    hosts = {"Orderer": orderer}
    try:
        member(orderer, "init")  # its CA and identities, and the TLS CA certificate members' files name
        orderer_address = f"127.0.1.1:{PORTS + 2}"
        for name, role, address, port_base in MEMBERS:
            host = root / name
            host.mkdir()
            hosts[name] = host
            hand_over(orderer / "run" / "orderer-tls-ca.pem", host, "orderer-tls-ca.pem")
            (host / "own.yaml").write_text(
                yaml.safe_dump(
                    {
                        "name": name,
                        "msp_id": f"{name}MSP",
                        "role": role,
                        "host": address,
                        "port_base": port_base,
                        "chaincode_execute_timeout": "5s",
                        "peers": [{"name": "peer0"}],
                        "channel": {
                            "name": CHANNEL,
                            "orderers": [{"address": orderer_address, "tls_ca_cert": "orderer-tls-ca.pem"}],
                        },
                        "chaincodes": [CHAINCODE],
                    },
                    sort_keys=False,
                )
            )
        members = [hosts[name] for name, *_ in MEMBERS]
        _each([orderer, *members], lambda host: member(host, "up"))

        # The founding members' join requests go to the orderer organization, which founds the channel.
        requests = []
        for name, *_ in MEMBERS:
            hand_over(hosts[name] / "run" / "join-request.json", orderer, f"{name}.json")
            requests += ["--request", f"{name}.json"]
        member(orderer, "genesis", *requests, "-o", "genesis.block")
        member(orderer, "join", "--block", "genesis.block")

        # The genesis block goes to every member: each joins its peer and approves with its own package.
        for host in members:
            hand_over(orderer / "genesis.block", host, f"{CHANNEL}.block")
        _each(members, lambda host: member(host, "join", "--block", f"{CHANNEL}.block"))
        _each(members, lambda host: member(host, "approve"))
        regulator = hosts["Regulator"]
        for name in ("Manufacturer", "DistributorA"):
            hand_over(hosts[name] / "run" / "join-request.json", regulator, f"{name}.json")
        member(regulator, "commit", "--request", "Manufacturer.json", "--request", "DistributorA.json")
        yield hosts
    finally:
        _each([h for h in hosts.values() if (h / "run").exists()], lambda host: member(host, "down"))


def _each(hosts: list[Path], action: Callable[[Path], object]) -> None:
    """Run ``action`` on every host at once, as separate people would."""
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        list(pool.map(action, hosts))


def _patiently(action: Callable[[], T], timeout: float = 60.0) -> T:
    """Run ``action`` until it succeeds: a new peer learns the others' peers through gossip first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except AccessRefused:
            raise
        except Exception:  # discovery has not converged yet; raised again after the timeout
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_each_run_directory_holds_its_own_organizations_keys_only(hosts: dict[str, Path]) -> None:
    for name, host in hosts.items():
        run = host / "run"
        assert sorted(p.name for p in (run / "orgs").iterdir()) == [name]
        keys = [p for p in run.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()[:4096]]
        assert keys, f"{name}'s own keys are in its run directory"
        for key in keys:
            # Its identities, owner-only; or a copy inside its own peer's data folder (0700), where the peer
            # keeps the chaincode package it was given (the TLS client key to its own chaincode server).
            if key.is_relative_to(run / "nodes"):
                data = run / "nodes" / key.relative_to(run / "nodes").parts[0] / "data"
                assert key.is_relative_to(data) and data.stat().st_mode & 0o077 == 0, key
            else:
                assert key.is_relative_to(run / "orgs" / name) and key.stat().st_mode & 0o077 == 0, key
        for handed in host.glob("*.json"):
            assert "PRIVATE KEY" not in handed.read_text()
    # The orderer organization holds the members' public certificates only inside the genesis block.
    assert not list((hosts["Orderer"] / "run" / "config").glob(".genesis-*"))


def test_invoices_go_through_between_separate_hosts_and_only_their_parties_read_them(
    hosts: dict[str, Path],
) -> None:
    with ExitStack() as stack:
        own = {
            name: stack.enter_context(
                PharmaClients(open_member(hosts[name] / "own.yaml", hosts[name] / "run"))
            )
            for name, *_ in MEMBERS
        }
        regulator = own["Regulator"].regulator
        manufacturer = own["Manufacturer"].manufacturer
        distributor = own["DistributorA"].distributor("DistributorAMSP")
        hospital = own["HospitalA"].hospital("HospitalAMSP")
        with pytest.raises(KeyError, match="no organization 'HospitalAMSP'"):
            own["Regulator"].hospital("HospitalAMSP")  # the regulator's SDK cannot sign as a hospital

        sample = build_sample_scenario()
        _patiently(lambda: regulator.bootstrap(sample.regulator))
        founding = {f"{name}MSP" for name, *_ in MEMBERS}
        for party in sample.records(Party):
            assert isinstance(party, Party)
            if party.party_id in founding and party.party_id != "RegulatorMSP":
                _patiently(lambda p=party: regulator.register_party(p))
        products = tuple(p for p in sample.records(Product) if isinstance(p, Product))
        for product in products:
            _patiently(lambda p=product: manufacturer.register_product(p))
        story = build_story(
            (products[0], products[1]),
            manufacturer="ManufacturerMSP",
            distributors=("DistributorAMSP", "DistributorBMSP"),
            hospitals=("HospitalAMSP", "HospitalBMSP"),
            now=datetime.now(CHINA_STANDARD_TIME),
        )
        for batch in story.batches:
            _patiently(lambda b=batch: manufacturer.record_batch(b))
        first, second = story.first_invoices[0], story.second_invoices[0]
        assert (first.seller, first.buyer, second.seller, second.buyer) == (
            "ManufacturerMSP",
            "DistributorAMSP",
            "DistributorAMSP",
            "HospitalAMSP",
        )
        _patiently(lambda: manufacturer.issue_invoice(first))
        _patiently(lambda: distributor.record_receipt(story.first_receipts[0]))
        _patiently(lambda: distributor.issue_invoice(second))
        # The hospital's ops team records its receipt with the command line on its own host.
        host = hosts["HospitalA"]
        (host / "receipt.json").write_bytes(story.second_receipts[0].to_json())
        written = fabrx(
            "--run-dir", "run", "--json", "pharma", "--member-file", "own.yaml",
            "hospital-receive", "receipt.json", cwd=host,
        )  # fmt: skip
        assert json.loads(written)["submitter"] == "HospitalAMSP"

        # Each party reads its own invoices on its own peer; the regulator reads both.
        assert _patiently(lambda: distributor.read_invoice(str(first.number))) == first
        assert _patiently(lambda: hospital.read_invoice(str(second.number))) == second
        assert _patiently(lambda: regulator.read_invoice(str(first.number))) == first
        assert _patiently(lambda: regulator.read_invoice(str(second.number))) == second
        # A member that is not a party to an invoice cannot read it.
        with pytest.raises(AccessRefused):
            _patiently(lambda: hospital.read_invoice(str(first.number)))
        with pytest.raises(AccessRefused):
            _patiently(lambda: manufacturer.read_invoice(str(second.number)))
