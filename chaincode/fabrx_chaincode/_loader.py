"""Contracts named on the command line: ``package.module:ContractClass``."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from .contract import Contract
from .errors import ContractDefinitionError, ServerConfigError

__all__ = ["load_contracts"]


def _instances(value: object, spec: str) -> list[Contract]:
    if isinstance(value, type) and issubclass(value, Contract):
        return [value()]
    if isinstance(value, Contract):
        return [value]
    if isinstance(value, list | tuple):
        return [contract for item in value for contract in _instances(item, spec)]
    raise ContractDefinitionError(f"{spec} is {type(value).__name__}, not a Contract subclass or instance")


def load_contracts(specs: Sequence[str]) -> list[Contract]:
    """Import and instantiate the contracts named by ``module:attribute`` specs, in order.

    The attribute may be a :class:`Contract` subclass (instantiated without arguments), an instance,
    or a list of those; a bare ``module`` uses its ``contracts`` attribute.

    Raises:
        ServerConfigError: a spec is empty or its module cannot be imported.
        ContractDefinitionError: the attribute is missing or is not a contract.
    """
    contracts: list[Contract] = []
    for spec in specs:
        module_name, _, attribute = spec.partition(":")
        if not module_name:
            raise ServerConfigError(f"contract spec {spec!r} must be module:ContractClass")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ServerConfigError(
                f"cannot import {module_name!r} for contract spec {spec!r}: {exc}"
            ) from exc
        name = attribute or "contracts"
        value: object = module
        for part in name.split("."):
            try:
                value = getattr(value, part)
            except AttributeError:
                raise ContractDefinitionError(f"module {module_name!r} has no attribute {name!r}") from None
        contracts.extend(_instances(value, spec))
    if not contracts:
        raise ServerConfigError("name at least one contract as module:ContractClass")
    return contracts
