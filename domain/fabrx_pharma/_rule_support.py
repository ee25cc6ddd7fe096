"""Helpers shared by the rule modules: lookups that fail with the right rule, and batch usability."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import NoReturn

from .errors import RuleId, RuleViolation
from .parties import Party, Product, Role
from .production import Batch
from .traceability import parse_gs1_element_string, trace_code_product_key
from .trade import GoodsLine
from .view import LedgerView


def fail(rule: RuleId, field: str, message: str) -> NoReturn:
    raise RuleViolation(rule, field, message)


def counts_as_manufacturer(party: Party, manufacturer: str) -> bool:
    """Whether ``party`` is ``manufacturer`` or counts as it (controlled sales company, general agent)."""
    return party.party_id == manufacturer or manufacturer in party.counts_as_manufacturer_of


def registered(view: LedgerView, party_id: str, field: str) -> Party:
    party = view.party(party_id)
    if party is None:
        fail(RuleId.UNKNOWN_PARTY, field, f"{party_id} is not a party registered by the regulator")
    return party


def acting_as(view: LedgerView, submitter: str, party_id: str, field: str, action: str) -> Party:
    """The party named at ``field``, which must be the submitter itself."""
    if submitter != party_id:
        fail(RuleId.ROLE, field, f"only {party_id} can {action}; the submitter is {submitter}")
    return registered(view, party_id, field)


def require_role(party: Party, roles: Iterable[Role], field: str, action: str) -> None:
    allowed = tuple(roles)
    if party.role not in allowed:
        names = " or ".join(r.value for r in allowed)
        fail(RuleId.ROLE, field, f"{party.party_id} is a {party.role.value}; {action} needs a {names}")


def product_and_batch(
    view: LedgerView, product_id: str, batch_number: str, path: str
) -> tuple[Product, Batch]:
    product = view.product(product_id)
    if product is None:
        fail(RuleId.UNKNOWN_PRODUCT, f"{path}.product_id", f"product {product_id} is not registered")
    batch = view.batch(product_id, batch_number)
    if batch is None:
        fail(
            RuleId.UNKNOWN_BATCH,
            f"{path}.batch_number",
            f"batch {batch_number} of {product_id} is not recorded",
        )
    return product, batch


def usable(view: LedgerView, batch: Batch, on: date, path: str, date_field: str, action: str) -> None:
    """A batch can be sold or dispensed on ``on``: produced by then, not expired, never recalled."""
    if view.recall(batch.product_id, batch.batch_number) is not None:
        fail(
            RuleId.BATCH_RECALLED,
            f"{path}.batch_number",
            f"batch {batch.key} has been recalled and can no longer be {action}",
        )
    if on > batch.expiry_date:
        fail(
            RuleId.BATCH_EXPIRED,
            f"{path}.batch_number",
            f"batch {batch.batch_number} expired on {batch.expiry_date} and cannot be {action} on {on}",
        )
    if on < batch.production_date:
        fail(
            RuleId.TIME_ORDER,
            date_field,
            f"{on} is before batch {batch.batch_number} was produced on {batch.production_date}",
        )


def code_mismatch(code: str, product: Product, batch: Batch) -> str | None:
    """Why a canonical traceability code cannot be a package of this product and batch, or ``None``."""
    key = trace_code_product_key(code)
    if code.isdigit():
        if product.trace_prefix is None:
            return f"product {product.product_id} has no trace_prefix, so code {code} cannot be tied to it"
        if key != product.trace_prefix:
            return f"code {code} starts with {key}, product {product.product_id} with {product.trace_prefix}"
        return None
    if key != product.gtin:
        return f"code {code} carries GTIN {key}, product {product.product_id} has {product.gtin}"
    elements = parse_gs1_element_string(code)
    if elements.batch is not None and elements.batch != batch.batch_number:
        return f"code {code} carries batch {elements.batch}, not {batch.batch_number}"
    if elements.expiry_date is not None and elements.expiry_date != batch.expiry_date:
        return f"code {code} carries expiry {elements.expiry_date}, batch {batch.key} {batch.expiry_date}"
    return None


def check_codes(product: Product, batch: Batch, line: GoodsLine, path: str) -> None:
    for k, code in enumerate(line.trace_codes):
        reason = code_mismatch(code, product, batch)
        if reason:
            fail(RuleId.PRODUCT_BATCH_MATCH, f"{path}.trace_codes[{k}]", reason)
