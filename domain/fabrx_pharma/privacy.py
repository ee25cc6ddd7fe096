"""Who may read what and who must endorse: the private data layout of the pharma ledger.

Pure domain knowledge shared by the pharma chaincode (which writes the copies), the SDK facades (which
name the endorsing organizations) and the supervision store, so the rule is written once.

Private copies live in Fabric's **implicit per-organization collections** (``_implicit_org_<MSP>``): every
channel member has one without any chaincode definition, only that member's peers store its data, and a
write to it is valid only with an endorsement that satisfies the member's own ``Endorsement`` policy
(one of its peers). So neither the collection configuration nor the endorsement policy grows with the
members, the hosted parties or the trading pairs, and a member or party joining needs no new chaincode
definition.

A record written by party P (its *author*: the seller of an invoice, the receiver of a receipt, the
hospital of a prescription, the manufacturer of a product or batch) is copied, as its canonical JSON
under the key of its public anchor, into

- ``_implicit_org_<host of P>``: P's own node (for a member organization, its own peers; for a hosted
  party, its hosting member's), and
- ``_implicit_org_<regulator>``: the regulator's node, which supervises everything.

Stock counters of a holder H live in the same two places, keyed by H. A buyer receives its copy of an
invoice when it records the receipt (票货同行: invoice and goods arrive together): the receipt carries the
invoice, checked against the public hash, into the buyer's host collection. Until then the buyer reads
the invoice through the seller's node or the regulator's, where the chaincode lets the invoice's parties
read it.

Endorsement: the chaincode-level policy is the regulator's peer alone (:func:`chaincode_endorsement_policy`),
and every record of P also writes to P's host collection, so it is valid only with the endorsements of
P's host **and** the regulator (:func:`endorsing_organizations`). An organization running altered
chaincode on its own peer therefore cannot create or change a record attributed to another party: it
would need that party's host to endorse, and that host's genuine chaincode checks that the submitting
client is the party (its MSP and its ``fabrx.party`` attribute). The regulator's genuine peer checks the
same for every write. Records the regulator writes itself (parties, the policy, its recalls) are public
and need only its own endorsement.
"""

from __future__ import annotations

from collections.abc import Iterable

from .identifiers import validate_msp_id

__all__ = [
    "IMPLICIT_COLLECTION_PREFIX",
    "chaincode_endorsement_policy",
    "copy_collections",
    "endorsing_organizations",
    "implicit_collection",
    "member_of_implicit",
]

IMPLICIT_COLLECTION_PREFIX = "_implicit_org_"
"""Fabric's name prefix of a channel member's implicit private data collection."""


def implicit_collection(msp_id: str) -> str:
    """The implicit private data collection of channel member ``msp_id``.

    Raises :class:`~fabrx_pharma.ValidationError` (``MSP_ID_FORMAT``) for a malformed MSP id.
    """
    return IMPLICIT_COLLECTION_PREFIX + validate_msp_id(msp_id, "host_msp_id")


def member_of_implicit(collection: str) -> str | None:
    """The MSP id whose implicit collection ``collection`` is, or ``None`` for another collection."""
    if collection.startswith(IMPLICIT_COLLECTION_PREFIX):
        return collection[len(IMPLICIT_COLLECTION_PREFIX) :] or None
    return None


def copy_collections(hosts: Iterable[str], regulator_msp_id: str) -> tuple[str, ...]:
    """Where the copies of a private value go: the implicit collections of ``hosts`` (in order, without
    repeats), then the regulator's, unless it is one of them already."""
    names: list[str] = []
    for msp_id in (*hosts, regulator_msp_id):
        name = implicit_collection(msp_id)
        if name not in names:
            names.append(name)
    return tuple(names)


def endorsing_organizations(host_msp_id: str, regulator_msp_id: str) -> tuple[str, ...]:
    """The organizations whose peers must endorse a write of a party hosted by ``host_msp_id``."""
    if host_msp_id == regulator_msp_id:
        return (regulator_msp_id,)
    return (host_msp_id, regulator_msp_id)


def chaincode_endorsement_policy(regulator_msp_id: str) -> str:
    """The chaincode-level endorsement policy: the regulator's peer. Every write of another party also
    writes its host's implicit collection, whose own policy adds that host (see the module docstring).

    Raises :class:`~fabrx_pharma.ValidationError` for a malformed MSP id.
    """
    validate_msp_id(regulator_msp_id, "regulator")
    return f"OR('{regulator_msp_id}.peer')"
