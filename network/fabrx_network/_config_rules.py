"""Steps 2 and 3 of loading a consortium: rules across fields, then resolution of derived defaults.

:func:`check` finds what no single field shows: repeated names and MSP IDs, a port used twice
anywhere in the network, references to organizations, channels and MSP IDs that do not exist,
consensus variants with too few nodes, and the rules between two fields of a section (one kind of
endorsement policy, block and peer count limits); it also gives the warnings. These are plain functions over
the typed model, each problem with the path it builds. :func:`resolve` is the one place derived defaults
are filled in; it runs only when :func:`check` found no error.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ._config_parse import Problems
from ._signature_policy import signature_policy_principals
from .config import (
    AUTO_PORT,
    MAX_PORT,
    ORG_ADMIN_USER,
    ROLE_ATTRIBUTE,
    ByteSize,
    CertificateAuthority,
    Chaincode,
    Consortium,
    EndorsementPolicy,
    Orderer,
    OrdererOrganization,
    Organization,
    Peer,
    suggest,
)

__all__ = ["check", "ephemeral_port_range", "msp_id_of", "resolve"]

_Node = TypeVar("_Node", CertificateAuthority, Orderer, Peer)

_EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LINUX_DEFAULT_EPHEMERAL = (32768, 60999)


def ephemeral_port_range(source: Path = _EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections (first, last), read from ``source``.

    A node listening on a port in this range can find it taken by any program's outgoing connection
    when it (re)starts, so the consortium file may not use such ports. Linux's default when the file
    cannot be read.
    """
    try:
        first, last = (int(part) for part in source.read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return _LINUX_DEFAULT_EPHEMERAL
    return first, last


def check(problems: Problems, c: Consortium) -> None:
    """Record every cross-field problem of the parsed (unresolved) consortium ``c``."""
    _check_host_and_versions(problems, c)
    _check_orgs(problems, c)
    _check_consensus(problems, c.orderer_org, c.fabric.version)
    _check_ports(problems, c)
    _check_channels(problems, c)
    _check_chaincodes(problems, c)


def msp_id_of(explicit: str, name: str) -> str:
    """An organization's MSP ID: as given, else derived from its name."""
    return explicit or f"{name}MSP"


def _unique(
    problems: Problems, entries: Iterable[tuple[str, str]], what: str, *, fold_case: bool = True
) -> None:
    """Report each (path, value) whose value repeats an earlier one; empty values were reported already."""
    first: dict[str, str] = {}
    for path, value in entries:
        if not value:
            continue
        key = value.lower() if fold_case else value
        if key in first:
            problems.error(path, f"{what} {value!r} already used by {first[key]}")
        else:
            first[key] = path.rsplit(".", 1)[0]


def _check_host_and_versions(problems: Problems, c: Consortium) -> None:
    if c.host and c.host != "localhost" and not ipaddress.ip_address(c.host).is_loopback:
        problems.warning(
            "host",
            f"{c.host} is not a loopback address: every node will listen on it, reachable from the network",
        )
    ca = re.match(r"^(\d+)\.(\d+)\.\d+$", c.fabric.ca_version)
    if ca and (ca[1], ca[2]) != ("1", "5"):
        problems.warning(
            "fabric.ca_version", f"Fabric CA {c.fabric.ca_version} is untested; fabrx uses 1.5.x"
        )


def _check_orgs(problems: Problems, c: Consortium) -> None:
    # Names are unique regardless of case: they become directory names, and file systems may fold case.
    _unique(
        problems,
        [
            ("orderer_org.name", c.orderer_org.name),
            *((f"orgs[{i}].name", o.name) for i, o in enumerate(c.orgs)),
        ],
        "organization name",
    )
    # An MSP ID derived from a repeated name was reported with the name already.
    msp_ids: list[tuple[str, str]] = []
    names: set[str] = set()
    named: list[tuple[str, OrdererOrganization | Organization]] = [("orderer_org", c.orderer_org)]
    named += [(f"orgs[{i}]", o) for i, o in enumerate(c.orgs)]
    for path, org in named:
        if org.name and (org.msp_id or org.name.lower() not in names):
            msp_ids.append((f"{path}.msp_id", msp_id_of(org.msp_id, org.name)))
        names.add(org.name.lower())
    _unique(problems, msp_ids, "MSP ID", fold_case=False)
    for i, org in enumerate(c.orgs):
        _unique(
            problems, ((f"orgs[{i}].peers[{j}].name", p.name) for j, p in enumerate(org.peers)), "peer name"
        )
        _unique(
            problems,
            ((f"orgs[{i}].clients[{j}].name", u.name) for j, u in enumerate(org.clients)),
            "client name",
        )
        for j, client in enumerate(org.clients):
            if client.name.lower() == ORG_ADMIN_USER:
                problems.error(
                    f"orgs[{i}].clients[{j}].name",
                    f"{client.name!r} is reserved for the organization's admin identity",
                )


def _check_consensus(problems: Problems, orderer_org: OrdererOrganization, fabric_version: str) -> None:
    variants = orderer_org.variants
    if orderer_org.consensus and variants and orderer_org.consensus not in variants:
        problems.error(
            "orderer_org.consensus",
            f"no variant {orderer_org.consensus!r} under orderer_org.variants"
            f" (defined: {', '.join(variants)}){suggest(orderer_org.consensus, variants)}",
        )
    elif (
        fabric_version.startswith("2.")
        and orderer_org.consensus in variants
        and variants[orderer_org.consensus].type == "BFT"
    ):
        problems.error(
            "orderer_org.consensus",
            f"{orderer_org.consensus!r} is BFT, which needs Fabric 3; "
            f"Fabric {fabric_version} orders with etcdraft",
        )
    for name, variant in variants.items():
        path = f"orderer_org.variants.{name}"
        _unique(
            problems,
            ((f"{path}.orderers[{j}].name", o.name) for j, o in enumerate(variant.orderers)),
            "orderer name",
        )
        count = len(variant.orderers)
        if variant.type == "BFT" and 0 < count < 4:
            problems.error(
                f"{path}.orderers", f"BFT needs at least 4 orderers to tolerate one fault; {count} given"
            )
        elif variant.type == "BFT" and count and count % 3 != 1:
            faults = (count - 1) // 3
            problems.warning(
                f"{path}.orderers",
                f"{count} BFT orderers tolerate {faults} fault(s), as {3 * faults + 1} would;"
                " use 3f+1 orderers (4, 7, 10, ...)",
            )
        elif variant.type == "etcdraft" and count and count % 2 == 0:
            faults = (count - 1) // 2
            problems.warning(
                f"{path}.orderers",
                f"{count} Raft orderers tolerate {faults} fault(s), as {count - 1} would;"
                " an odd count is recommended",
            )


@dataclass(frozen=True)
class _PortSlot:
    """One port a node needs. ``owner`` identifies the node: an orderer is the same node in every variant."""

    owner: str
    node_path: str
    key: str
    port: int

    @property
    def path(self) -> str:
        return f"{self.node_path}.{self.key}"

    @property
    def label(self) -> str:
        """How another problem refers to this port: the node, or the node and key when not ``port``."""
        return self.node_path if self.key == "port" else self.path


def _port_slots(c: Consortium) -> Iterator[_PortSlot]:
    """Every port of the network in allocation order: the orderer org's CA, orderers (by first
    appearance across variants), then each organization's CA and peers, then chaincode servers."""

    def node(owner: str, path: str, ports: Iterable[tuple[str, int]]) -> Iterator[_PortSlot]:
        return (_PortSlot(owner, path, key, port) for key, port in ports)

    ca = c.orderer_org.ca
    yield from node(
        "orderer_org.ca", "orderer_org.ca", [("port", ca.port), ("operations_port", ca.operations_port)]
    )
    for name, variant in c.orderer_org.variants.items():
        for j, o in enumerate(variant.orderers):
            ports = [("port", o.port), ("admin_port", o.admin_port), ("operations_port", o.operations_port)]
            yield from node(f"orderer:{o.name}", f"orderer_org.variants.{name}.orderers[{j}]", ports)
    for i, org in enumerate(c.orgs):
        yield from node(
            f"orgs[{i}].ca",
            f"orgs[{i}].ca",
            [("port", org.ca.port), ("operations_port", org.ca.operations_port)],
        )
        for j, p in enumerate(org.peers):
            ports = [
                ("port", p.port),
                ("chaincode_port", p.chaincode_port),
                ("operations_port", p.operations_port),
            ]
            yield from node(f"orgs[{i}].peers[{j}]", f"orgs[{i}].peers[{j}]", ports)
    for k, cc in enumerate(c.chaincodes):
        owner = f"chaincodes[{k}].server"
        if cc.server.shared:
            yield from node(owner, owner, [("port", cc.server.port)])
        else:
            ports = [(name, cc.server.ports.get(name, AUTO_PORT)) for name in _serving_orgs(c, cc)]
            yield from node(owner, f"{owner}.ports", ports)


def _serving_orgs(c: Consortium, cc: Chaincode) -> list[str]:
    """The organizations that run their own server of ``cc``: its channel's members with peers (a
    channel without ``orgs`` has every organization; unknown names are reported elsewhere)."""
    channel = next((ch for ch in c.channels if ch.name == cc.channel), None)
    if channel is None:
        return []
    by_name = {o.name: o for o in c.orgs}
    return [name for name in channel.orgs or tuple(by_name) if name in by_name and by_name[name].peers]


def _check_ports(problems: Problems, c: Consortium) -> None:
    users: dict[int, _PortSlot] = {}
    orderer_ports: dict[tuple[str, str], _PortSlot] = {}
    low, high = ephemeral_port_range()
    for slot in _port_slots(c):
        if slot.port == AUTO_PORT:
            continue
        if low <= slot.port <= high:
            problems.error(
                slot.path,
                f"{slot.port} lies in the kernel's ephemeral port range {low}-{high}, from which "
                "outgoing connections take their ports, so a restarting node can find it taken; "
                f"choose a port below {low} or above {high}",
            )
        if slot.owner.startswith("orderer:"):
            earlier = orderer_ports.setdefault((slot.owner, slot.key), slot)
            if earlier.port != slot.port:
                problems.error(
                    slot.path,
                    f"{slot.port} differs from {earlier.port} given at {earlier.path}: "
                    f"orderer {slot.owner.removeprefix('orderer:')!r} keeps its ports in every variant",
                )
                continue
        first = users.setdefault(slot.port, slot)
        if first is not slot and (first.owner, first.key) != (slot.owner, slot.key):
            problems.error(slot.path, f"{slot.port} already used by {first.label}")


def _check_channels(problems: Problems, c: Consortium) -> None:
    _unique(problems, ((f"channels[{i}].name", ch.name) for i, ch in enumerate(c.channels)), "channel name")
    org_names = [o.name for o in c.orgs]
    for i, channel in enumerate(c.channels):
        cutting = channel.block_cutting
        if cutting.preferred_max_bytes > cutting.absolute_max_bytes > ByteSize(0):
            problems.error(
                f"channels[{i}].block_cutting.preferred_max_bytes",
                f"{cutting.preferred_max_bytes} is larger than absolute_max_bytes "
                f"({cutting.absolute_max_bytes})",
            )
        seen: set[str] = set()
        for j, name in enumerate(channel.orgs):
            path = f"channels[{i}].orgs[{j}]"
            if name == c.orderer_org.name:
                problems.error(
                    path, f"{name!r} is the orderer organization; a channel lists peer organizations"
                )
            elif name not in org_names:
                problems.error(path, f"no organization {name!r} under orgs{suggest(name, org_names)}")
            elif name in seen:
                problems.error(path, f"{name!r} is listed twice")
            seen.add(name)


def _check_chaincodes(problems: Problems, c: Consortium) -> None:
    # Chaincode names are unique across channels: each has one folder and one server in the run directory.
    _unique(
        problems, ((f"chaincodes[{k}].name", cc.name) for k, cc in enumerate(c.chaincodes)), "chaincode name"
    )
    channels = {ch.name: ch for ch in c.channels}
    msp_by_org = {o.name: msp_id_of(o.msp_id, o.name) for o in c.orgs if o.name}
    for k, cc in enumerate(c.chaincodes):
        path = f"chaincodes[{k}]"
        _check_one_policy(problems, f"{path}.endorsement_policy", cc.endorsement_policy)
        for j, col in enumerate(cc.collections):
            _check_one_policy(problems, f"{path}.collections[{j}].endorsement_policy", col.endorsement_policy)
        channel = channels.get(cc.channel)
        if channel is None:
            if cc.channel:
                problems.error(
                    f"{path}.channel",
                    f"no channel {cc.channel!r} under channels{suggest(cc.channel, channels)}",
                )
            continue
        members = channel.orgs or tuple(msp_by_org)
        member_msps = {msp_by_org[name] for name in members if name in msp_by_org}
        where = f"on channel {channel.name!r}"
        _check_principals(
            problems, f"{path}.endorsement_policy", _signature(cc.endorsement_policy), member_msps, where
        )
        for j, col in enumerate(cc.collections):
            col_path = f"{path}.collections[{j}]"
            if col.required_peer_count > col.max_peer_count:
                problems.error(
                    f"{col_path}.required_peer_count",
                    f"{col.required_peer_count} is more than max_peer_count ({col.max_peer_count})",
                )
            _check_principals(problems, f"{col_path}.policy", col.policy, member_msps, where)
            _check_principals(
                problems,
                f"{col_path}.endorsement_policy",
                _signature(col.endorsement_policy),
                member_msps,
                where,
            )
        _unique(
            problems,
            ((f"{path}.collections[{j}].name", col.name) for j, col in enumerate(cc.collections)),
            "collection name",
        )
        _check_chaincode_server(problems, c, cc, f"{path}.server")


def _check_chaincode_server(problems: Problems, c: Consortium, cc: Chaincode, path: str) -> None:
    server = cc.server
    if server.shared:
        if server.ports:
            problems.error(
                f"{path}.ports",
                "a shared server has one port (server.port); ports per organization are for servers "
                "that each organization runs (leave out shared)",
            )
        return
    if server.port:
        problems.error(
            f"{path}.port",
            "each organization runs its own server of this chaincode: pin a port per organization under "
            "server.ports (e.g. ports: {Regulator: 7099}), or set shared: true for one server for all",
        )
    serving = _serving_orgs(c, cc)
    for name in server.ports:
        if name not in serving:
            problems.error(
                f"{path}.ports.{name}",
                f"{name!r} runs no server of chaincode {cc.name!r}: the organizations with peers on channel "
                f"{cc.channel!r} are {', '.join(serving) or 'none'}{suggest(name, serving)}",
            )


def _check_one_policy(problems: Problems, path: str, policy: EndorsementPolicy | None) -> None:
    if policy is not None and bool(policy.signature_policy) == bool(policy.channel_config_policy):
        problems.error(path, "give exactly one of signature_policy or channel_config_policy")


def _signature(policy: EndorsementPolicy | None) -> str:
    return policy.signature_policy if policy else ""


def _check_principals(problems: Problems, path: str, policy: str, member_msps: set[str], where: str) -> None:
    """Every MSP ID a signature policy names must belong to an organization on the channel."""
    if not policy:
        return
    try:
        principals = signature_policy_principals(policy)
    except ValueError:
        return  # reported while parsing
    for msp_id, _ in principals:
        if msp_id not in member_msps:
            hint = suggest(msp_id, member_msps)
            problems.error(path, f"names MSP ID {msp_id!r}, not an organization {where}{hint}")


def _allocate_ports(problems: Problems, c: Consortium) -> dict[tuple[str, str], int]:
    """The one place ports are chosen: explicit ports stay; every other port takes the next free
    number from ``port_base`` in :func:`_port_slots` order, skipping every port given explicitly."""
    slots = list(_port_slots(c))
    assigned = {(s.owner, s.key): s.port for s in slots if s.port != AUTO_PORT}
    taken = set(assigned.values())
    candidate = c.port_base
    for slot in slots:
        if (slot.owner, slot.key) in assigned:
            continue
        while candidate in taken:
            candidate += 1
        if candidate > MAX_PORT:
            needed = len({(s.owner, s.key) for s in slots})
            problems.error(
                "port_base",
                f"allocating {needed} ports from {c.port_base} runs past {MAX_PORT}; lower port_base",
            )
            return assigned
        assigned[(slot.owner, slot.key)] = candidate
        taken.add(candidate)
    _check_allocation_outside_ephemeral(
        problems, c, sorted(assigned[(s.owner, s.key)] for s in slots if s.port == AUTO_PORT)
    )
    return assigned


def _check_allocation_outside_ephemeral(problems: Problems, c: Consortium, allocated: list[int]) -> None:
    first, last = ephemeral_port_range()
    inside = [port for port in allocated if first <= port <= last]
    if inside:
        problems.error(
            "port_base",
            f"ports allocated from {c.port_base} ({allocated[0]}-{allocated[-1]}) reach into the kernel's "
            f"ephemeral port range {first}-{last} ({inside[0]}...), from which outgoing connections take "
            f"their ports, so a restarting node can find its port taken; choose a port_base that keeps "
            f"all {len(allocated)} ports below {first} or above {last}",
        )


def resolve(problems: Problems, c: Consortium) -> Consortium:
    """Fill in every derived default. Runs only on a consortium without errors."""
    ports = _allocate_ports(problems, c)

    def ported(node: _Node, owner: str) -> _Node:
        keys = [name for name in type(node).model_fields if name.endswith("port")]
        return node.model_copy(update={key: ports.get((owner, key), AUTO_PORT) for key in keys})

    orderer_org = c.orderer_org.model_copy(
        update={
            "msp_id": msp_id_of(c.orderer_org.msp_id, c.orderer_org.name),
            "ca": ported(c.orderer_org.ca, "orderer_org.ca"),
            "variants": {
                name: variant.model_copy(
                    update={"orderers": tuple(ported(o, f"orderer:{o.name}") for o in variant.orderers)}
                )
                for name, variant in c.orderer_org.variants.items()
            },
        }
    )
    orgs = tuple(
        org.model_copy(
            update={
                "msp_id": msp_id_of(org.msp_id, org.name),
                "ca": ported(org.ca, f"orgs[{i}].ca"),
                "peers": tuple(ported(p, f"orgs[{i}].peers[{j}]") for j, p in enumerate(org.peers)),
                "clients": tuple(
                    u.model_copy(update={"attrs": {ROLE_ATTRIBUTE: org.role, **u.attrs}}) for u in org.clients
                ),
            }
        )
        for i, org in enumerate(c.orgs)
    )
    all_orgs = tuple(o.name for o in orgs)
    channels = tuple(ch.model_copy(update={"orgs": ch.orgs or all_orgs}) for ch in c.channels)
    chaincodes = []
    for k, cc in enumerate(c.chaincodes):
        owner = f"chaincodes[{k}].server"
        if cc.server.shared:
            server = cc.server.model_copy(update={"port": ports.get((owner, "port"), AUTO_PORT)})
        else:
            serving = _serving_orgs(c, cc)
            server = cc.server.model_copy(
                update={"ports": {name: ports.get((owner, name), AUTO_PORT) for name in serving}}
            )
        chaincodes.append(cc.model_copy(update={"server": server}))
    return c.model_copy(
        update={
            "orderer_org": orderer_org,
            "orgs": orgs,
            "channels": channels,
            "chaincodes": tuple(chaincodes),
        }
    )
