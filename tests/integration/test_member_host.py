"""A member on its own host: its own member file, run directory, loopback address and `fabrx` invocations.

HospitalD joins the running test consortium the way a hospital group joins a real one. Its host is
127.0.1.7 (any 127.x.y.z address is this machine's loopback, so it stands for another host), its run
directory is its own, and it runs only `fabrx member ...` and `fabrx channel ...` with its own files. The
consortium's admins run `fabrx channel update ...` with theirs. What crosses between them are public
files only: the orderer organization's TLS CA certificate, HospitalD's join request, the update and its
signatures, the genesis block. Then a distributor sells to HospitalD, HospitalD records the receipt from
its own node with its own client, and no other member can read the invoice. When HospitalD leaves, its
own client is refused as not a member, nobody can invoice it, its trade stays readable to the
distributor and the regulator, and the regulator's report still runs.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml
from loadsupport import BatchLoad, every_one_committed
from netsupport import TEST_PORT_BASE, caught_up

from fabrx import ConnectionFailure, Gateway
from fabrx.pharma import AccessRefused, PharmaClients, PharmaError
from fabrx.pharma.scenario import ScenarioReport, run_scenario
from fabrx_network import ConsortiumNetwork, NetworkError
from fabrx_network.member import open_member
from fabrx_pharma import Invoice, InvoiceNumber, Party, Receipt, Role, Shipment
from fabrx_pharma.sample import sample_uscc

HOST = "127.0.1.7"
FABRX = Path(sys.executable).with_name("fabrx")


def fabrx(*args: str, cwd: Path) -> str:
    """One `fabrx` invocation in ``cwd``; its stdout. Fails the test with its output if it fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("FABRX_RUN_DIR", "FABRX_CONFIG")}
    result = subprocess.run(
        [str(FABRX), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"fabrx {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def clients(network: ConsortiumNetwork) -> Iterator[PharmaClients]:
    with PharmaClients(network) as opened:
        yield opened


@pytest.fixture(scope="module")
def scenario(clients: PharmaClients) -> ScenarioReport:
    return run_scenario(clients)


def test_a_member_on_its_own_host_joins_under_load_with_public_files_only_and_trades_privately(
    network: ConsortiumNetwork,
    clients: PharmaClients,
    scenario: ScenarioReport,
    gateway_for: Callable[[str], Gateway],
    tmp_path: Path,
) -> None:
    consortium_file = network.base_dir / "consortium.yaml"
    admins = tmp_path / "admins"  # the consortium's admins' side: their run directory is the network's
    host = tmp_path / "hospitald-host"  # HospitalD's host: nothing of the consortium's run directory
    admins.mkdir()
    host.mkdir()
    orderer = network.consortium.orderer_org.orderers[0]
    orderer_address = f"{network.consortium.host}:{orderer.port}"

    def admin(*args: str) -> str:
        return fabrx("--config", str(consortium_file), "--run-dir", str(network.run_dir), *args, cwd=admins)

    # Public fact handed to the new member: the orderer organization's TLS CA certificate.
    shutil.copy(network.layout.ca_cert(network.consortium.orderer_org.name), host / "orderer-tls-ca.pem")
    member_file = host / "HospitalD.yaml"
    member_file.write_text(
        yaml.safe_dump(
            {
                "name": "HospitalD",
                "msp_id": "HospitalDMSP",
                "role": "hospital",
                "host": HOST,
                "port_base": TEST_PORT_BASE + 600,
                "chaincode_execute_timeout": "5s",
                "peers": [{"name": "peer0"}],
                "channel": {
                    "name": "pharma",
                    "orderers": [{"address": orderer_address, "tls_ca_cert": "orderer-tls-ca.pem"}],
                },
                "chaincodes": [
                    {
                        "name": "pharma",
                        "version": "1.0",
                        "runtime": {"python": "fabrx_pharma_chaincode.contract:PharmaContract"},
                    }
                ],
            },
            sort_keys=False,
        )
    )

    def member(*args: str) -> str:
        return fabrx("--run-dir", "run", "member", *args, "-f", str(member_file), cwd=host)

    member("up")
    deployment = open_member(member_file, host / "run")
    removed = False
    load = BatchLoad(clients.manufacturer)
    try:
        _its_own_keys_only(host / "run")
        outside = deployment.status()
        assert outside.up
        # Not a member yet: the orderer refuses to tell it the channel's height.
        assert outside.orderer_height is None and "FORBIDDEN" in outside.orderer_problem, outside

        # The join request travels to the admins, who add HospitalD with a majority's signatures, while
        # the manufacturer keeps submitting.
        load.start()
        shutil.copy(host / "run" / "join-request.json", admins / "HospitalD.json")
        admin(
            "channel", "update", "add-org", "--as", "Regulator", "--request", "HospitalD.json", "-o", "add.pb"
        )
        signatures = []
        for org in ("Regulator", "Manufacturer", "DistributorA", "HospitalA"):
            admin("channel", "update", "sign", "add.pb", "--as", org, "-o", f"{org}.sig")
            signatures.append(f"{org}.sig")
        admin("channel", "update", "submit", "add.pb", *signatures, "--as", "Regulator")
        seen = load.wait_more_than(load.count(), "after the update adding HospitalD committed")

        # HospitalD's admin fetches the genesis block from the orderer with its own identity and joins.
        own_admin = host / "run" / "orgs" / "HospitalD" / "users" / "admin" / "msp"
        fabrx(
            "channel", "fetch-block", "--number", "0", "-o", "pharma.block",
            "--msp-id", "HospitalDMSP", "--msp-dir", str(own_admin),
            "--orderer", orderer_address, "--orderer-tls-ca", "orderer-tls-ca.pem",
            cwd=host,
        )  # fmt: skip
        member("join", "--block", "pharma.block")
        regulator = network.consortium.org("Regulator")
        with network.peer_admin(regulator, regulator.peers[0]) as peer:
            height = peer.chain_info("pharma").height
        deployment.wait_height(height)
        seen = load.wait_more_than(seen, "while HospitalD's peer joined")
        member("approve")
        # Its status shows the peer's height and how far it is behind the orderer.
        assert re.search(
            r"peer0\.HospitalD +peer +up +\S+ +pharma=\d+ \((in step with|\d+ behind) the orderer\)",
            member("status"),
        )

        # The regulator registers the member; a distributor sells to it.
        clients.regulator.register_party(
            Party("HospitalDMSP", Role.HOSPITAL, "hospital D", sample_uscc("12", "350100", "48830001"))
        )
        # The seller's peer endorses the sale: it must have committed the registration first.
        caught_up(network, "Regulator", "DistributorA")
        sale = _sale(_template(clients, scenario), "HospitalDMSP")
        clients.distributor("DistributorAMSP").issue_invoice(sale)
        caught_up(network, "Regulator", "DistributorA")

        # HospitalD records the receipt with its own client on its own peer, endorsed there and by the
        # regulator: its SDK holds HospitalD's identities only.
        with PharmaClients(deployment) as own:
            hospital = own.hospital("HospitalDMSP")
            _retry_until_discovered(lambda: hospital.record_receipt(_receipt_of(sale)))
            assert hospital.read_invoice(str(sale.number)) == sale
            with pytest.raises(KeyError, match="no organization 'HospitalAMSP'"):
                own.hospital("HospitalAMSP")
        with pytest.raises(NetworkError, match="its identities are not here"):
            deployment.client_msp("HospitalA")

        # Privacy: the other members cannot read HospitalD's invoice; the regulator can.
        for outsider in (clients.hospital("HospitalAMSP"), clients.distributor("DistributorBMSP")):
            with pytest.raises(AccessRefused):
                outsider.read_invoice(str(sale.number))
        assert clients.regulator.read_invoice(str(sale.number)) == sale

        # The load ran throughout the join: no submit failed, and each one acknowledged is on the ledger.
        load.wait_more_than(seen, "after HospitalD's first trade")
        load.stop()
        assert load.failures == [], load.failures[:5]
        caught_up(network, "Regulator", "Manufacturer")
        every_one_committed(gateway_for("Regulator").get_network("pharma"), load.acknowledged)

        # HospitalD leaves: the admins remove it (a majority of the seven) and the regulator makes the
        # party inactive. Its own client is refused (a member would hear DUPLICATE_RECORD for this
        # receipt): by the other peers as not a member, or, once its own peer has the block that removed
        # it, by its own peer, which knows no endorser for it any more. Nobody invoices it.
        _remove(admin)
        removed = True
        with (
            PharmaClients(deployment) as own,
            pytest.raises(
                (AccessRefused, ConnectionFailure),
                match=r"not a member of channel pharma|failed to find any endorsing peers",
            ),
        ):
            own.hospital("HospitalDMSP").record_receipt(_receipt_of(sale))
        clients.regulator.set_party_active("HospitalDMSP", False)
        another = _sale(_template(clients, scenario), "HospitalDMSP")
        with pytest.raises(PharmaError, match="PARTY_INACTIVE"):
            clients.distributor("DistributorAMSP").issue_invoice(another)
    finally:
        load.stop()
        try:
            if not removed:
                _remove(admin)
        finally:
            member("down")
    stopped = deployment.status()
    assert not any(stopped.running().values())
    assert all(node.reason for node in stopped.nodes if node.kind == "peer"), stopped
    # HospitalD's collection left with it; its trade stays on the ledger and under supervision.
    assert clients.regulator.read_invoice(str(sale.number)) == sale
    assert clients.distributor("DistributorAMSP").read_invoice(str(sale.number)) == sale
    clients.regulator.compliance_report()


def _remove(admin: Callable[..., str]) -> None:
    """The consortium's admins remove HospitalD from the channel with a majority's signatures."""
    admin("channel", "update", "remove-org", "--as", "Regulator", "--org", "HospitalDMSP", "-o", "rm.pb")
    majority = ("Regulator", "Manufacturer", "DistributorA", "HospitalA")
    for org in majority:
        admin("channel", "update", "sign", "rm.pb", "--as", org, "-o", f"rm-{org}.sig")
    admin("channel", "update", "submit", "rm.pb", *(f"rm-{o}.sig" for o in majority), "--as", "Regulator")


def _its_own_keys_only(run_dir: Path) -> None:
    """The member's run directory holds its own organization's files only, its private keys owner-only."""
    assert sorted(p.name for p in (run_dir / "orgs").iterdir()) == ["HospitalD"]
    keys = [p for p in run_dir.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()[:4096]]
    assert keys, "the member's own keys are in its run directory"
    for key in keys:
        assert key.is_relative_to(run_dir / "orgs" / "HospitalD") and key.stat().st_mode & 0o077 == 0, key
    assert (run_dir / "join-request.json").read_text().count("PRIVATE KEY") == 0


def _retry_until_discovered(action: object, timeout: float = 60.0) -> None:
    """Run ``action`` until it succeeds: the new peer learns the others' peers through gossip first."""
    assert callable(action)
    deadline = time.monotonic() + timeout
    while True:
        try:
            action()
            return
        except Exception:  # discovery has not converged yet; raised again after the timeout
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _template(clients: PharmaClients, scenario: ScenarioReport) -> Invoice:
    number = next(
        anchor.key
        for actor, anchor in scenario.writes
        if anchor.record_type == "invoice"
        and actor == "DistributorAMSP"
        and anchor.public["kind"] == "second"
    )
    return clients.distributor("DistributorAMSP").read_invoice(number)


def _sale(template: Invoice, buyer: str) -> Invoice:
    line = dataclasses.replace(
        template.lines[0],
        quantity=1,
        amount=template.lines[0].unit_price.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
    )
    goods = dataclasses.replace(template.shipment.lines[0], quantity=1, trace_codes=())
    serial = f"{time.time_ns() % 10**13:013d}"
    number = InvoiceNumber.parse(f"{template.issue_date:%y}35{serial.rjust(16, '7')}")
    return dataclasses.replace(
        template,
        number=number,
        buyer=buyer,
        lines=(line,),
        total=line.amount,
        shipment=Shipment(f"SHP-D-{serial}", template.shipment.shipped_at, (goods,)),
    )


def _receipt_of(invoice: Invoice) -> Receipt:
    return Receipt(
        f"RCV-{str(invoice.number)[-8:]}",
        invoice.number,
        invoice.buyer,
        invoice.shipment.shipped_at + timedelta(hours=1),
        invoice.shipment.lines,
    )
