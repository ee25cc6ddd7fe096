"""The pharma ledger layout on the real consortium: hosted parties, privacy between them, many records in
one transaction, and altered chaincode on one member's peer.

Private copies live in Fabric's implicit per-organization collections, every write is endorsed by the
writer's host and the regulator (docs/pharma.md, "Ledger layout"). These tests run on the session's
network after the demo scenario stocked DistributorA.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from netsupport import REPO, caught_up

from fabrx import CommitError, EndorseError
from fabrx.admin import approve_for_my_org, ccaas_package, query_committed
from fabrx.pharma import AccessRefused, Distributor, Hospital, PharmaClients, PharmaError, RecordNotFound
from fabrx.pharma.scenario import ScenarioReport, run_scenario
from fabrx_network import ConsortiumNetwork
from fabrx_network.chaincodes import chaincode_definition, chaincode_files
from fabrx_pharma import Invoice, InvoiceNumber, Party, Receipt, Role, Shipment
from fabrx_pharma.sample import sample_uscc

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def clients(network: ConsortiumNetwork) -> Iterator[PharmaClients]:
    with PharmaClients(network) as opened:
        yield opened


@pytest.fixture(scope="module")
def scenario(clients: PharmaClients) -> ScenarioReport:
    return run_scenario(clients)


def _sale_template(clients: PharmaClients, scenario: ScenarioReport) -> Invoice:
    """One of DistributorA's second invoices of the scenario, to copy fresh sales from."""
    number = next(
        anchor.key
        for actor, anchor in scenario.writes
        if anchor.record_type == "invoice"
        and actor == "DistributorAMSP"
        and anchor.public["kind"] == "second"
    )
    return clients.distributor("DistributorAMSP").read_invoice(number)


_SEQUENCE = iter(range(1, 10_000))


def _sale(template: Invoice, buyer: str, quantity: int) -> Invoice:
    """A fresh one-line second invoice of DistributorA from the template's first batch."""
    line = dataclasses.replace(
        template.lines[0],
        quantity=quantity,
        amount=(template.lines[0].unit_price * quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
    )
    goods = dataclasses.replace(template.shipment.lines[0], quantity=quantity, trace_codes=())
    serial = f"{time.time_ns() % 10**9:09d}{next(_SEQUENCE):04d}"
    number = InvoiceNumber.parse(f"{template.issue_date:%y}35{serial[:16].rjust(16, '0')}")
    return dataclasses.replace(
        template,
        number=number,
        buyer=buyer,
        lines=(line,),
        total=line.amount,
        shipment=Shipment(f"SHP-{serial}", template.shipment.shipped_at, (goods,)),
    )


# --- hosted parties -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Clinics:
    tag: str
    same_host: tuple[str, str]
    other_host: str


@pytest.fixture(scope="module")
def clinics(network: ConsortiumNetwork, clients: PharmaClients, scenario: ScenarioReport) -> Clinics:
    tag = scenario.tag[-6:]
    ids = (f"CLINIC-{tag}-1", f"CLINIC-{tag}-2", f"CLINIC-{tag}-3")
    hosts = ("HospitalAMSP", "HospitalAMSP", "HospitalBMSP")
    for i, (party_id, host) in enumerate(zip(ids, hosts, strict=True)):
        clients.regulator.register_party(
            Party(
                party_id,
                Role.HOSPITAL,
                f"clinic {party_id}",
                sample_uscc("12", "350100", f"4881{i:04d}"),
                host_msp_id=host,
            )
        )
    return Clinics(tag, (ids[0], ids[1]), ids[2])


def _hosted_hospital(
    network: ConsortiumNetwork, clients: PharmaClients, party_id: str, host: str
) -> Hospital:
    org = host.removesuffix("MSP")
    folder = network.enroll_client(org, party_id.lower(), {"fabrx.party": party_id, "fabrx.role": "hospital"})
    return clients.hosted(Hospital, party_id, org, folder)


def test_a_hosted_party_trades_within_seconds_of_registration_without_a_definition_change(
    network: ConsortiumNetwork, clients: PharmaClients, scenario: ScenarioReport
) -> None:
    org = network.consortium.org("Regulator")
    with network.peer_admin(org, org.peers[0]) as admin:
        (before,) = query_committed(admin, "pharma", "pharma")
    tag = scenario.tag[-6:]
    party_id = f"PHARMACY-{tag}"
    started = time.monotonic()
    clients.regulator.register_party(
        Party(
            party_id,
            Role.HOSPITAL,
            "pharmacy",
            sample_uscc("12", "350100", "48820001"),
            host_msp_id="HospitalBMSP",
        )
    )
    pharmacy = _hosted_hospital(network, clients, party_id, "HospitalBMSP")
    sale = _sale(_sale_template(clients, scenario), party_id, 1)
    anchor = clients.distributor("DistributorAMSP").issue_invoice(sale)
    caught_up(network, "HospitalB", "DistributorA")
    pharmacy.record_receipt(_receipt_of(sale))
    elapsed = time.monotonic() - started
    assert anchor.key == str(sale.number)
    assert pharmacy.read_stock(sale.lines[0].product_id, sale.lines[0].batch_number).received == 1
    with network.peer_admin(org, org.peers[0]) as admin:
        (after,) = query_committed(admin, "pharma", "pharma")
    assert after.sequence == before.sequence
    print(f"hosted party: registration to first accepted invoice and receipt in {elapsed:.2f} s")


def _receipt_of(invoice: Invoice) -> Receipt:
    return Receipt(
        f"RCV-{str(invoice.number)[-8:]}",
        invoice.number,
        invoice.buyer,
        invoice.shipment.shipped_at + timedelta(hours=1),
        invoice.shipment.lines,
    )


def test_hosted_parties_of_the_same_host_and_of_other_hosts_cannot_read_each_others_trade(
    network: ConsortiumNetwork, clients: PharmaClients, scenario: ScenarioReport, clinics: Clinics
) -> None:
    first, neighbour = clinics.same_host
    buyer = _hosted_hospital(network, clients, first, "HospitalAMSP")
    same_host = _hosted_hospital(network, clients, neighbour, "HospitalAMSP")
    other_host = _hosted_hospital(network, clients, clinics.other_host, "HospitalBMSP")
    sale = _sale(_sale_template(clients, scenario), first, 2)
    clients.distributor("DistributorAMSP").issue_invoice(sale)
    caught_up(network, "HospitalA", "DistributorA")
    buyer.record_receipt(_receipt_of(sale))
    number = str(sale.number)
    assert buyer.read_invoice(number) == sale
    # The host's own peer keeps the copy; its chaincode serves it to that clinic only.
    for outsider in (same_host, other_host):
        with pytest.raises(AccessRefused) as refused:
            outsider.read_invoice(number)
        assert refused.value.rule == "PRIVATE_DATA"
    # The hosting member's own client acts for the member, not for its clinics.
    with pytest.raises(AccessRefused):
        clients.hospital("HospitalAMSP").read_invoice(number)
    with pytest.raises(AccessRefused):
        clients.distributor("DistributorBMSP").read_invoice(number)
    assert clients.regulator.read_invoice(number) == sale


def test_a_client_cannot_act_for_a_party_its_organization_does_not_host(
    network: ConsortiumNetwork, clients: PharmaClients, clinics: Clinics
) -> None:
    # HospitalB's CA enrolls a user claiming a clinic that HospitalA hosts.
    claimed = clinics.same_host[0]
    folder = network.enroll_client(
        "HospitalB", f"claims-{claimed.lower()}", {"fabrx.party": claimed, "fabrx.role": "hospital"}
    )
    impostor = clients.hosted(Hospital, claimed, "HospitalB", folder)
    with pytest.raises(PharmaError) as refused:
        impostor.read_stock("AMOX-0.25G-24", "A240301")
    assert (refused.value.rule, refused.value.field) == ("ROLE", "party_id")


# --- many records in one transaction -------------------------------------------------------------------


def test_many_invoices_in_one_transaction_with_one_bad_record(
    clients: PharmaClients, scenario: ScenarioReport
) -> None:
    template = _sale_template(clients, scenario)
    distributor: Distributor = clients.distributor("DistributorAMSP")
    good = [_sale(template, "HospitalAMSP", 1) for _ in range(5)]
    reused = dataclasses.replace(_sale(template, "HospitalAMSP", 1), number=InvoiceNumber.parse(template.key))
    records = [*good[:2], reused, *good[2:]]
    result = distributor.write_records(records)
    assert [(r.index, r.rule, r.field) for r in result.refused] == [(2, "INVOICE_REUSED", "number")]
    assert sorted(result.anchors) == [0, 1, 3, 4, 5] and result.existing == frozenset()
    for invoice in good:
        assert distributor.read_anchor("invoice", str(invoice.number)).hash
    # Sent again (an ERP resuming after a crash): nothing is written twice, the same anchors come back.
    again = distributor.write_records(good)
    assert not again.refused and again.existing == frozenset(range(5))
    assert [again.anchors[i].transaction_id for i in range(5)] == [
        result.anchors[i].transaction_id for i in (0, 1, 3, 4, 5)
    ]


# --- altered chaincode on one member's peer ------------------------------------------------------------


def _wait_listening(server: subprocess.Popen[bytes], host: str, port: int) -> None:
    """Wait until the chaincode server accepts connections: the peer dials it once per launch and fails
    the endorsement if nothing listens yet (a loaded machine takes seconds to start a Python server)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the forging chaincode server exited with {server.returncode}")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise AssertionError(f"the forging chaincode server did not listen on {host}:{port} within 60 s")


@pytest.fixture
def forging_peer(network: ConsortiumNetwork) -> Iterator[None]:
    """DistributorB's peer runs ``ForgingContract`` (writes any invoice in its seller's name) on a server
    of its own; every other peer keeps the genuine chaincode. Restored afterwards."""
    chaincode = next(c for c in network.consortium.chaincodes if c.name == "pharma")
    org = network.consortium.org("DistributorB")
    files = chaincode_files(network.layout, chaincode, org)  # DistributorB's own server's TLS material
    host = network.consortium.host
    port = int(os.environ.get("FABRX_TEST_PORT_BASE", "27050")) - 7
    package = ccaas_package(
        "pharma-forged_1.0",
        address=f"{host}:{port}",
        tls_required=True,
        client_auth_required=True,
        client_key=files.peer_client_tls.key.read_text(),
        client_cert=files.peer_client_tls.cert.read_text(),
        root_cert=files.server_tls.ca_cert.read_text(),
    )
    env = {
        **os.environ,
        "CHAINCODE_ID": package.package_id,
        "CHAINCODE_SERVER_ADDRESS": f"{host}:{port}",
        "CHAINCODE_TLS_CERT": str(files.server_tls.cert),
        "CHAINCODE_TLS_KEY": str(files.server_tls.key),
        "CHAINCODE_CLIENT_CA_CERT": str(files.server_tls.ca_cert),
        "PYTHONPATH": os.pathsep.join([str(HERE / "chaincodes"), str(REPO)]),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "fabrx_chaincode", "forging_pharma:ForgingContract"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_listening(server, host, port)
    orderer = network.orderer_endpoint()
    definition = chaincode_definition(network.consortium, chaincode)
    with network.peer_admin(org, org.peers[0]) as admin:
        genuine = next(p.package_id for p in admin.query_installed() if p.label == chaincode.label)
        admin.install(package)
        approve_for_my_org(
            admin, "pharma", dataclasses.replace(definition, package_id=package.package_id), orderer=orderer
        )
    try:
        yield
    finally:
        with network.peer_admin(org, org.peers[0]) as admin:
            approve_for_my_org(
                admin, "pharma", dataclasses.replace(definition, package_id=genuine), orderer=orderer
            )
        server.terminate()
        server.wait(timeout=10)


def test_altered_chaincode_on_one_peer_cannot_forge_a_record_of_another_member(
    network: ConsortiumNetwork, clients: PharmaClients, scenario: ScenarioReport, forging_peer: None
) -> None:
    forged = _sale(_sale_template(clients, scenario), "HospitalAMSP", 1)  # seller: DistributorAMSP
    contract = clients.gateway("DistributorBMSP").get_network("pharma").get_contract("pharma")
    transient = {"record": forged.to_json()}
    # With the regulator's genuine peer: it refuses to endorse a client of DistributorB writing as A.
    with pytest.raises(EndorseError):
        contract.submit_transaction(
            "issue_invoice", transient=transient, endorsing_organizations=["DistributorBMSP", "RegulatorMSP"]
        )
    # With DistributorB's altered peer alone: endorsed, ordered, and invalid at commit, because the write
    # into DistributorA's implicit collection needs DistributorA's peer and the chaincode policy the
    # regulator's.
    with pytest.raises(CommitError) as invalid:
        contract.submit_transaction(
            "issue_invoice", transient=transient, endorsing_organizations=["DistributorBMSP"]
        )
    assert invalid.value.validation_code == "ENDORSEMENT_POLICY_FAILURE"
    with pytest.raises(RecordNotFound):
        clients.regulator.read_anchor("invoice", str(forged.number))
