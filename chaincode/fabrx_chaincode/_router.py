"""Contracts as one chaincode: routing ``contract:function``, hooks, argument checks and GetMetadata.

The first argument names the transaction: ``contract:function``, or just ``function`` for the default
contract (the first one given unless named). The system contract ``org.hyperledger.fabric`` answers
``GetMetadata`` with the contracts, transactions and types in the metadata schema of the Go and Node
contract APIs.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import _serialize
from .chaincode import OK, Chaincode, ChaincodeResponse, response_for_exception
from .contract import TRANSACTION_ATTRIBUTE, Context, Contract, TransactionInfo, evaluate
from .errors import ContractDefinitionError, InvalidArgumentError, TransactionError, UnknownTransactionError
from .stub import ChaincodeStub

__all__ = ["SYSTEM_CONTRACT", "ContractChaincode", "as_chaincode"]

SYSTEM_CONTRACT = "org.hyperledger.fabric"
METADATA_SCHEMA = "https://hyperledger.github.io/fabric-chaincode-node/main/api/contract-schema.json"
_HOOKS = ("before_transaction", "after_transaction", "unknown_transaction", "create_context")


@dataclass(frozen=True, slots=True)
class _Parameter:
    name: str
    parse: _serialize.ArgumentParser


@dataclass(frozen=True, slots=True)
class _Transaction:
    name: str
    function: Callable[..., Any]
    parameters: tuple[_Parameter, ...]
    required: int
    returns: Any  # the return annotation; inspect.Parameter.empty when undeclared
    metadata: dict[str, Any]

    def parse(self, raw: Sequence[bytes]) -> list[Any]:
        count = len(raw)
        if not self.required <= count <= len(self.parameters):
            names = ", ".join(p.name for p in self.parameters) or "none"
            expected = (
                str(self.required)
                if self.required == len(self.parameters)
                else f"{self.required} to {len(self.parameters)}"
            )
            raise InvalidArgumentError(f"{self.name} takes {expected} argument(s) ({names}), got {count}")
        values = []
        for parameter, value in zip(self.parameters, raw, strict=False):
            try:
                values.append(parameter.parse(value))
            except ValueError as exc:
                raise InvalidArgumentError(f"{self.name}: argument {parameter.name!r}: {exc}") from None
        return values


class _Entry:
    """A contract instance with its transaction table and which hooks it overrides."""

    def __init__(self, contract: Contract, transactions: dict[str, _Transaction]) -> None:
        self.contract = contract
        self.transactions = transactions
        cls = type(contract)
        self.before = cls.before_transaction is not Contract.before_transaction
        self.after = cls.after_transaction is not Contract.after_transaction


def _collect(contract: Contract, components: dict[str, dict[str, Any]]) -> dict[str, _Transaction]:
    cls = type(contract)
    found: dict[str, _Transaction] = {}
    seen: set[str] = set()
    for klass in cls.__mro__:
        for attribute, member in vars(klass).items():
            if attribute in seen:
                continue
            seen.add(attribute)
            info = getattr(member, TRANSACTION_ATTRIBUTE, None)
            if not isinstance(info, TransactionInfo):
                continue
            if attribute in _HOOKS:
                raise ContractDefinitionError(
                    f"{cls.__qualname__}.{attribute} is a hook and cannot be a transaction"
                )
            name = info.name or attribute
            if name in found:
                raise ContractDefinitionError(f"{cls.__qualname__} exposes two transactions named {name!r}")
            found[name] = _describe(cls, name, member, info, components)
    return found


def _describe(
    cls: type,
    name: str,
    function: Callable[..., Any],
    info: TransactionInfo,
    components: dict[str, dict[str, Any]],
) -> _Transaction:
    where = f"{cls.__qualname__}.{function.__name__}"
    if not callable(function) or isinstance(function, staticmethod | classmethod):
        raise ContractDefinitionError(f"{where}: a transaction must be a plain method")
    signature = inspect.signature(function)
    try:
        hints = typing.get_type_hints(function)
    except Exception as exc:
        raise ContractDefinitionError(f"{where}: cannot resolve annotations: {exc}") from exc
    params = list(signature.parameters.values())
    if len(params) < 2 or any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
        raise ContractDefinitionError(
            f"{where}: a transaction takes (self, ctx, *arguments) as plain positional parameters"
        )
    parameters = []
    metadata_parameters = []
    required = 0
    for param in params[2:]:
        annotation = hints.get(param.name, str)
        try:
            parser = _serialize.argument_parser(annotation)
            schema = _serialize.schema_for(annotation, components)
        except ContractDefinitionError as exc:
            raise ContractDefinitionError(f"{where}: parameter {param.name!r}: {exc}") from None
        parameters.append(_Parameter(param.name, parser))
        metadata_parameters.append({"name": param.name, "schema": schema})
        if param.default is param.empty:
            required += 1
    returns = hints.get("return", inspect.Parameter.empty)
    tags = ["submit", "SUBMIT"] if info.submit else ["evaluate", "EVALUATE"]
    metadata: dict[str, Any] = {"name": name, "tag": tags}
    if metadata_parameters:
        metadata["parameters"] = metadata_parameters
    if returns is not inspect.Parameter.empty and returns is not type(None) and returns is not None:
        try:
            metadata["returns"] = _serialize.schema_for(returns, components)
        except ContractDefinitionError as exc:
            raise ContractDefinitionError(f"{where}: return annotation: {exc}") from None
    return _Transaction(name, function, tuple(parameters), required, returns, metadata)


class _SystemContract(Contract):
    """``org.hyperledger.fabric``: the chaincode's own metadata."""

    def __init__(self, metadata: bytes) -> None:
        super().__init__(SYSTEM_CONTRACT)
        self._metadata = metadata

    @evaluate
    def GetMetadata(self, ctx: Context) -> bytes:
        return self._metadata


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class ContractChaincode:
    """Serves contracts as one :class:`~fabrx_chaincode.chaincode.Chaincode`.

    Args:
        contracts: contract instances (classes are instantiated without arguments).
        default: the contract for function names without ``contract:``; the first when omitted.
        title, version: the chaincode-level metadata ``info``.

    Raises:
        ContractDefinitionError: no contracts, duplicate names, a name with ``:``, an unknown
            default, or a transaction with an unsupported signature or annotation.
    """

    def __init__(
        self,
        contracts: Sequence[Contract | type[Contract]],
        *,
        default: str | None = None,
        title: str = "",
        version: str = "",
    ) -> None:
        instances = [c() if isinstance(c, type) else c for c in contracts]
        if not instances:
            raise ContractDefinitionError("a chaincode needs at least one contract")
        components: dict[str, dict[str, Any]] = {}
        self._entries: dict[str, _Entry] = {}
        for contract in instances:
            if not isinstance(contract, Contract):
                raise ContractDefinitionError(f"{contract!r} is not a fabrx_chaincode.Contract")
            name = contract.contract_name
            if ":" in name or name == SYSTEM_CONTRACT or name in self._entries:
                raise ContractDefinitionError(
                    f"contract name {name!r} is reserved, repeated or contains ':'; "
                    "set a unique Contract.name"
                )
            self._entries[name] = _Entry(contract, _collect(contract, components))
        self._default = default or instances[0].contract_name
        if self._default not in self._entries:
            raise ContractDefinitionError(
                f"the default contract {self._default!r} is not among the contracts"
            )
        system = _SystemContract(b"")
        system_entry = _Entry(system, _collect(system, components))
        self._entries[SYSTEM_CONTRACT] = system_entry
        self._metadata = self._build_metadata(title, version, components)
        system._metadata = json.dumps(self._metadata, separators=(",", ":")).encode()

    @property
    def default_contract(self) -> str:
        """The contract that function names without ``contract:`` go to."""
        return self._default

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata ``GetMetadata`` returns (a copy)."""
        return json.loads(json.dumps(self._metadata))

    def _build_metadata(
        self, title: str, version: str, components: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        contracts = {}
        for name, entry in self._entries.items():
            contracts[name] = {
                "name": name,
                "default": name == self._default,
                "info": {"title": name, "version": type(entry.contract).version},
                "transactions": [tx.metadata for tx in entry.transactions.values()],
            }
        return {
            "$schema": METADATA_SCHEMA,
            "info": {"title": title or self._default, "version": version},
            "contracts": contracts,
            "components": {"schemas": components},
        }

    async def init(self, stub: ChaincodeStub) -> ChaincodeResponse:
        """``INIT`` is routed like any transaction (name the init function in the arguments)."""
        return await self.invoke(stub)

    async def invoke(self, stub: ChaincodeStub) -> ChaincodeResponse:
        """Route, check the arguments, run the hooks and the transaction; never raises."""
        args = stub.args
        if not args:
            return ChaincodeResponse(OK)
        try:
            contract_name, colon, function = args[0].decode("utf-8", "replace").partition(":")
            if not colon:
                contract_name, function = self._default, contract_name
            elif not contract_name:
                contract_name = self._default
            entry = self._entries.get(contract_name)
            if entry is None:
                known = ", ".join(sorted(self._entries))
                raise UnknownTransactionError(f"contract {contract_name!r} is not known (contracts: {known})")
            contract = entry.contract
            ctx = contract.create_context(stub)
            tx = entry.transactions.get(function)
            if tx is None:
                result = await _maybe_await(contract.unknown_transaction(ctx))
                return ChaincodeResponse(OK, payload=_serialize.serialize_result(result))
            values = tx.parse(args[1:])
            if entry.before:
                await _maybe_await(contract.before_transaction(ctx))
            result = tx.function(contract, ctx, *values)
            if inspect.isawaitable(result):
                result = await result
            if tx.returns is not inspect.Parameter.empty:
                problem = _serialize.check_result(tx.returns, result)
                if problem:
                    raise TransactionError(f"{tx.name} {problem}")
            if entry.after:
                await _maybe_await(contract.after_transaction(ctx, result))
            return ChaincodeResponse(OK, payload=_serialize.serialize_result(result))
        except Exception as exc:
            return response_for_exception(exc, stub.transaction_id)


def as_chaincode(chaincode: Chaincode | Contract | Sequence[Contract]) -> Chaincode:
    """A chaincode as given, or a :class:`ContractChaincode` of a contract or a list of contracts."""
    if isinstance(chaincode, Contract):
        return ContractChaincode([chaincode])
    if isinstance(chaincode, Sequence):
        return ContractChaincode(list(chaincode))
    return chaincode
