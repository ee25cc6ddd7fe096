"""Who may read what: the private data collections of the pharma ledger, and its endorsement policy.

Pure domain knowledge shared by the pharma chaincode (which writes to these collections) and the network
tooling (which defines them from the consortium file), so the naming rule is written once.

Collections are named from MSP ids, because the chaincode knows parties by the MSP id the regulator
registered them under (a ``Party`` has no consortium organization name):

``trade_<A>_<B>`` — one per trading pair: the trade records of A and B (invoices with their lines,
    prices and shipments, receipts). Members: A, B and every regulator. A and B are ordered by role
    (manufacturer, distributor, hospital); two parties of the same role (distributor → distributor
    transfers, a sales company's first invoice) by MSP id. Pairs of two manufacturers or two hospitals
    never trade and get none.
``books_<X>`` — one per non-regulator party: X's own books (stock counters per batch, full batch
    records with raw-material lots, prescriptions, adverse-event reports). Members: X, every party
    registered as counting as X (a manufacturer's sales company, which invoices from X's stock) and
    every regulator. What a buyer purchased is a counter in the pair's ``trade_`` collection, so no
    transaction writes to books its submitter's organization cannot read: ``member_only_write`` is true.

Every collection: ``required_peer_count`` 0, ``max_peer_count`` 3, ``block_to_live`` 0 (kept for
audits and recalls), ``member_only_read`` true. MSP ids used with this chaincode must consist of
letters, digits and '-' so that every name is a valid, unambiguous collection name.

Endorsement (see :func:`chaincode_endorsement_policy`): every write needs a regulator's peer and a peer
of one other organization. The chaincode on every honest peer checks that the submitting client's
organization is the party each record is attributed to, so an organization running altered chaincode
on its own peer cannot create or change a record attributed to another: the regulator's peer refuses
to endorse it. Trade collections add ``AND(regulator, OR(A, B))`` so that writes to a pair's data also
need a peer of the pair.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from .errors import ValidationError
from .parties import Role

__all__ = [
    "BOOKS_PREFIX",
    "TRADE_PREFIX",
    "CollectionSpec",
    "Member",
    "books_collection",
    "books_readers",
    "chaincode_endorsement_policy",
    "check_collection_safe",
    "collection_plan",
    "trade_collection",
    "trade_pair",
]


class Member(Protocol):
    """What the collection plan needs of a party: a registered :class:`~fabrx_pharma.Party` is one, and
    so is an organization of a consortium file (MSP id and role, no sales companies)."""

    @property
    def msp_id(self) -> str: ...

    @property
    def role(self) -> Role: ...

    @property
    def counts_as_manufacturer_of(self) -> tuple[str, ...]: ...


M = TypeVar("M", bound=Member)


TRADE_PREFIX = "trade_"
BOOKS_PREFIX = "books_"

_RANK = {Role.MANUFACTURER: 0, Role.DISTRIBUTOR: 1, Role.HOSPITAL: 2, Role.REGULATOR: 3}
_SAFE = re.compile(r"[A-Za-z0-9-]+")


def check_collection_safe(msp_id: str, field: str = "msp_id") -> None:
    """Refuse an MSP id that cannot be part of a collection name.

    Raises :class:`~fabrx_pharma.ValidationError` (rule ``COLLECTION_NAME``).
    """
    if not _SAFE.fullmatch(msp_id):
        raise ValidationError(
            "COLLECTION_NAME",
            field,
            f"{msp_id!r} cannot name a private data collection: the pharma chaincode needs MSP ids of "
            "letters, digits and '-' only",
        )


def trade_pair(a: M, b: M) -> tuple[M, M]:
    """``a`` and ``b`` in collection-name order: by role (manufacturer, distributor, hospital), MSP id."""
    first, second = sorted((a, b), key=lambda p: (_RANK[p.role], p.msp_id))
    return first, second


def trade_collection(a: Member, b: Member) -> str:
    """The collection holding the trade between ``a`` and ``b`` (order of the arguments is irrelevant)."""
    first, second = trade_pair(a, b)
    return f"{TRADE_PREFIX}{first.msp_id}_{second.msp_id}"


def books_collection(msp_id: str) -> str:
    """The collection holding the books of the party registered under ``msp_id``."""
    return f"{BOOKS_PREFIX}{msp_id}"


def books_readers(holder: str, parties: Iterable[Member]) -> tuple[str, ...]:
    """Non-regulator members of ``books_<holder>``: the holder and every party counting as it."""
    return (holder, *sorted(p.msp_id for p in parties if holder in p.counts_as_manufacturer_of))


@dataclass(frozen=True)
class CollectionSpec:
    """One collection the network must define, in the terms of Fabric's collection configuration."""

    name: str
    members: tuple[str, ...]
    """MSP ids of the member organizations, regulators last."""
    member_only_write: bool
    endorsement_policy: str | None
    """A collection-level signature policy, or ``None`` for the chaincode's own policy."""
    required_peer_count: int = 0
    max_peer_count: int = 3
    block_to_live: int = 0
    member_only_read: bool = True

    @property
    def policy(self) -> str:
        """The distribution policy: any member organization."""
        return "OR(" + ", ".join(f"'{msp}.member'" for msp in self.members) + ")"


def _peers(msp_ids: Iterable[str]) -> str:
    return ", ".join(f"'{msp}.peer'" for msp in msp_ids)


def _regulator_clause(regulators: list[str]) -> str:
    return f"'{regulators[0]}.peer'" if len(regulators) == 1 else f"OutOf(1, {_peers(regulators)})"


def collection_plan(parties: Iterable[Member]) -> tuple[CollectionSpec, ...]:
    """Every collection the chaincode may use for these parties: trade pairs first, then books.

    Raises :class:`~fabrx_pharma.ValidationError` if there is no regulator or an MSP id cannot name a
    collection.
    """
    listed = sorted(parties, key=lambda p: (_RANK[p.role], p.msp_id))
    regulators = [p.msp_id for p in listed if p.role is Role.REGULATOR]
    if not regulators:
        raise ValidationError("ROLE", "role", "the pharma collections need a party with role regulator")
    for party in listed:
        check_collection_safe(party.msp_id)
    traders = [p for p in listed if p.role is not Role.REGULATOR]
    specs: list[CollectionSpec] = []
    for i, a in enumerate(traders):
        for b in traders[i + 1 :]:
            if a.role is b.role and a.role is not Role.DISTRIBUTOR:
                continue
            specs.append(
                CollectionSpec(
                    name=trade_collection(a, b),
                    members=(a.msp_id, b.msp_id, *regulators),
                    member_only_write=True,
                    endorsement_policy=(
                        f"AND({_regulator_clause(regulators)}, OR({_peers((a.msp_id, b.msp_id))}))"
                    ),
                )
            )
    for party in traders:
        specs.append(
            CollectionSpec(
                name=books_collection(party.msp_id),
                members=(*books_readers(party.msp_id, listed), *regulators),
                member_only_write=True,
                endorsement_policy=None,
            )
        )
    return tuple(specs)


def chaincode_endorsement_policy(parties: Iterable[Member]) -> str:
    """The chaincode-level policy: a regulator's peer AND a peer of any other organization.

    Raises :class:`~fabrx_pharma.ValidationError` without a regulator or without another organization.
    """
    listed = list(parties)
    regulators = [p.msp_id for p in listed if p.role is Role.REGULATOR]
    others = [p.msp_id for p in listed if p.role is not Role.REGULATOR]
    if not regulators or not others:
        raise ValidationError(
            "ROLE", "role", "the endorsement policy needs a regulator and another organization"
        )
    return f"AND({_regulator_clause(regulators)}, OutOf(1, {_peers(others)}))"
