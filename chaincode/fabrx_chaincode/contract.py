"""Contracts: classes whose explicitly decorated methods are the chaincode's transactions.

Only methods marked with :func:`transaction` (or its shorthands :func:`submit` and :func:`evaluate`)
can be invoked; any other method, public or not, is unreachable from a client. A transaction method
takes the :class:`Context` first, then its arguments; their type annotations say how arguments are
read from bytes and are checked (see :mod:`fabrx_chaincode._serialize`)::

    class AssetContract(Contract):
        name = "asset"

        @submit
        async def CreateAsset(self, ctx: Context, asset_id: str, value: int) -> dict:
            await ctx.stub.put_state(asset_id, ...)

        @evaluate
        async def ReadAsset(self, ctx: Context, asset_id: str) -> str: ...

Ledger calls are coroutines, so a transaction that touches the ledger is ``async def``; a plain
``def`` transaction is fine for work without ledger calls. Either runs on the server's event loop:
long CPU-bound work in a transaction delays the others on the stream.

``submit`` / ``evaluate`` are recorded in the metadata (``GetMetadata``) as a hint to clients; the
peer does not tell the chaincode which one a client used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

from .errors import UnknownTransactionError
from .identity import ClientIdentity

if TYPE_CHECKING:
    from .stub import ChaincodeStub

__all__ = ["Context", "Contract", "TransactionInfo", "evaluate", "submit", "transaction"]

_F = TypeVar("_F", bound=Callable[..., Any])

TRANSACTION_ATTRIBUTE = "__fabrx_transaction__"


@dataclass(frozen=True, slots=True)
class TransactionInfo:
    """What :func:`transaction` records on a method: the exposed name and whether it is a submit."""

    name: str | None
    submit: bool


@overload
def transaction(function: _F, /) -> _F: ...


@overload
def transaction(
    *, submit: bool | None = None, evaluate: bool | None = None, name: str | None = None
) -> Callable[[_F], _F]: ...


def transaction(
    function: Callable[..., Any] | None = None,
    /,
    *,
    submit: bool | None = None,
    evaluate: bool | None = None,
    name: str | None = None,
) -> Any:
    """Expose a contract method as a transaction: ``@transaction``, ``@transaction(evaluate=True)``.

    A transaction is a submit unless ``evaluate=True`` or ``submit=False``; ``name`` exposes it under
    another name than the method's.

    Raises:
        ValueError: ``submit`` and ``evaluate`` contradict each other.
    """
    if submit is not None and evaluate is not None and submit == evaluate:
        raise ValueError("a transaction is either submit or evaluate: pass one of submit=True, evaluate=True")
    is_submit = not evaluate if evaluate is not None else (submit if submit is not None else True)
    info = TransactionInfo(name=name, submit=is_submit)

    def mark(fn: _F) -> _F:
        setattr(fn, TRANSACTION_ATTRIBUTE, info)
        return fn

    return mark(function) if function is not None else mark


@overload
def submit(function: _F, /) -> _F: ...


@overload
def submit(*, name: str | None = None) -> Callable[[_F], _F]: ...


def submit(function: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Expose a method as a transaction that writes to the ledger (clients submit it for ordering)."""
    decorator = transaction(submit=True, name=name)
    return decorator(function) if function is not None else decorator


@overload
def evaluate(function: _F, /) -> _F: ...


@overload
def evaluate(*, name: str | None = None) -> Callable[[_F], _F]: ...


def evaluate(function: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Expose a method as a read-only transaction (clients evaluate it; nothing is ordered)."""
    decorator = transaction(evaluate=True, name=name)
    return decorator(function) if function is not None else decorator


class Context:
    """What a transaction receives first: the stub and the client identity (parsed on first use).

    Subclass it and set :attr:`Contract.context_class` to carry per-transaction helpers.
    """

    def __init__(self, stub: ChaincodeStub) -> None:
        self.stub = stub

    @cached_property
    def client_identity(self) -> ClientIdentity:
        """The identity that created the proposal (see :class:`~fabrx_chaincode.identity.ClientIdentity`)."""
        return ClientIdentity(self.stub.creator)


class Contract:
    """Base class of contracts. Subclasses set :attr:`name` (default: the class name) and decorate
    their transactions.

    Hooks, all optional to override and either plain or ``async``:

    - :meth:`before_transaction` runs after the arguments were read, before the transaction;
    - :meth:`after_transaction` runs after a successful transaction, with its result;
    - :meth:`unknown_transaction` runs when the function name is not a transaction of this contract.

    An exception from any hook fails the transaction like one from the transaction itself.
    """

    name: ClassVar[str] = ""
    """The contract name clients use in ``name:function``; the class name when empty."""
    version: ClassVar[str] = ""
    """Reported in the contract's metadata ``info``."""
    context_class: ClassVar[type[Context]] = Context
    """The :class:`Context` type created for each transaction."""

    def __init__(self, name: str | None = None) -> None:
        self._name = name or type(self).name or type(self).__name__

    @property
    def contract_name(self) -> str:
        """The name this instance is routed by."""
        return self._name

    def create_context(self, stub: ChaincodeStub) -> Context:
        """The context of one transaction."""
        return self.context_class(stub)

    async def before_transaction(self, ctx: Context) -> None:
        """Runs before every transaction of this contract (for example an access check)."""

    async def after_transaction(self, ctx: Context, result: Any) -> None:
        """Runs after every successful transaction of this contract."""

    async def unknown_transaction(self, ctx: Context) -> Any:
        """Runs for a function name that is not a transaction; by default fails with status 400.

        Whatever it returns is sent back as the transaction result.

        Raises:
            UnknownTransactionError: always, unless overridden.
        """
        function, _ = ctx.stub.function_and_parameters
        _, _, name = function.rpartition(":")
        raise UnknownTransactionError(f"contract {self._name!r} has no transaction {name!r}")
