"""The contract layer: decorators, routing, hooks, argument and return checks, GetMetadata."""

from __future__ import annotations

import asyncio
import enum
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from fabrx_chaincode import (
    SYSTEM_CONTRACT,
    ChaincodeResponse,
    Context,
    Contract,
    ContractChaincode,
    ContractDefinitionError,
    MemoryLedger,
    evaluate,
    submit,
    transaction,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Owner:
    name: str
    org: str = "Org1MSP"


@dataclass
class Asset:
    id: str
    size: int
    owner: Owner
    tags: list[str] = field(default_factory=list)
    note: str | None = None


class Assets(Contract):
    name = "assets"

    def helper(self, ctx: Context) -> str:  # public but not decorated: must not be callable
        return "leaked"

    @submit
    async def Create(self, ctx: Context, asset: Asset) -> Asset:
        return asset

    @evaluate
    def Numbers(self, ctx: Context, count: int, ratio: float, flag: bool, color: Color) -> dict[str, Any]:
        return {"count": count, "ratio": ratio, "flag": flag, "color": color.value}

    @transaction(evaluate=True, name="Renamed")
    def original_name(self, ctx: Context) -> str:
        return "renamed"

    @evaluate
    def Optional(self, ctx: Context, first: str, second: int | None = None) -> str:
        return f"{first}:{second}"

    @evaluate
    def WrongReturn(self, ctx: Context) -> str:
        return 42  # type: ignore[return-value]

    @evaluate
    def Raw(self, ctx: Context, data: bytes) -> bytes:
        return data[::-1]


class Hooked(Contract):
    name = "hooked"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def before_transaction(self, ctx: Context) -> None:
        self.calls.append("before")

    def after_transaction(self, ctx: Context, result: Any) -> None:  # a plain hook works too
        self.calls.append(f"after:{result}")

    async def unknown_transaction(self, ctx: Context) -> str:
        self.calls.append("unknown")
        return "fallback"

    @submit
    def Work(self, ctx: Context) -> str:
        self.calls.append("work")
        return "done"


class Guarded(Contract):
    name = "guarded"

    async def before_transaction(self, ctx: Context) -> None:
        ctx.client_identity.assert_msp_id("AdminMSP")

    @submit
    def Secret(self, ctx: Context) -> str:
        raise AssertionError("must not run")


def call(contracts: list[Contract], function: str, *args: str | bytes, **options: Any) -> ChaincodeResponse:
    ledger = MemoryLedger()
    ledger.deploy("cc", contracts)
    return asyncio.run(ledger.submit("cc", function, *args, **options))


def test_undecorated_public_methods_are_not_callable() -> None:
    response = call([Assets()], "assets:helper")
    assert response.status == 400 and "no transaction 'helper'" in response.message
    assert call([Assets()], "assets:before_transaction").status == 400


def test_function_without_contract_prefix_goes_to_the_default_contract() -> None:
    assert call([Hooked(), Assets()], "Work").payload == b"done"
    # "Raw" belongs to another contract: the default contract's unknown hook answers it.
    assert call([Hooked(), Assets()], "Raw", b"abc").payload == b"fallback"
    chaincode = ContractChaincode([Hooked(), Assets()], default="assets")
    assert chaincode.default_contract == "assets"


def test_explicit_default_contract_routes_bare_names() -> None:
    ledger = MemoryLedger()
    ledger.deploy("cc", ContractChaincode([Hooked(), Assets()], default="assets"))
    assert asyncio.run(ledger.evaluate("cc", "Raw", b"abc")).payload == b"cba"
    assert asyncio.run(ledger.evaluate("cc", ":Raw", b"xy")).payload == b"yx"


def test_transaction_can_be_exposed_under_another_name() -> None:
    assert call([Assets()], "assets:Renamed").payload == b"renamed"
    assert call([Assets()], "assets:original_name").status == 400


def test_hooks_run_in_order_and_unknown_hook_answers() -> None:
    hooked = Hooked()
    assert call([hooked], "hooked:Work").payload == b"done"
    assert hooked.calls == ["before", "work", "after:done"]
    hooked.calls.clear()
    response = call([hooked], "hooked:Missing")
    assert (response.status, response.payload) == (200, b"fallback")
    assert hooked.calls == ["unknown"]


def test_before_hook_can_deny_access() -> None:
    response = call([Guarded()], "guarded:Secret", creator=b"")
    assert response.status == 403 and "AdminMSP" in response.message


def test_arguments_are_parsed_by_annotation() -> None:
    response = call([Assets()], "assets:Numbers", "-12", "2.5", "TRUE", "blue")
    assert json.loads(response.payload) == {"count": -12, "ratio": 2.5, "flag": True, "color": "blue"}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("1.5", "2", "true", "red"), "argument 'count': expected an integer"),
        (("1", "nan", "true", "red"), "argument 'ratio'"),
        (("1", "2", "yes", "red"), "argument 'flag': expected true or false"),
        (("1", "2", "true", "green"), "argument 'color'"),
        (("1", "2", "true"), "Numbers takes 4 argument(s) (count, ratio, flag, color), got 3"),
    ],
)
def test_bad_arguments_fail_with_400_naming_the_argument(args: tuple[str, ...], problem: str) -> None:
    response = call([Assets()], "assets:Numbers", *args)
    assert response.status == 400
    assert problem in response.message


def test_dataclass_argument_is_checked_recursively() -> None:
    good = {"id": "a1", "size": 3, "owner": {"name": "ann"}, "tags": ["x"]}
    response = call([Assets()], "assets:Create", json.dumps(good))
    assert response.ok
    assert json.loads(response.payload) == {
        "id": "a1",
        "size": 3,
        "owner": {"name": "ann", "org": "Org1MSP"},
        "tags": ["x"],
        "note": None,
    }
    wrong_type = dict(good, size="3")
    assert (
        "$.size: expected int, got str" in call([Assets()], "assets:Create", json.dumps(wrong_type)).message
    )
    missing = {"id": "a1", "size": 3}
    assert "missing field 'owner'" in call([Assets()], "assets:Create", json.dumps(missing)).message
    unknown = dict(good, colour="red")
    assert "unknown field(s) colour" in call([Assets()], "assets:Create", json.dumps(unknown)).message
    assert "not valid JSON" in call([Assets()], "assets:Create", "{oops").message


def test_optional_trailing_argument_may_be_omitted() -> None:
    assert call([Assets()], "assets:Optional", "a").payload == b"a:None"
    assert call([Assets()], "assets:Optional", "a", "7").payload == b"a:7"


def test_return_value_is_checked_against_the_annotation() -> None:
    response = call([Assets()], "assets:WrongReturn")
    assert response.status == 500
    assert "WrongReturn returned int, declared str" in response.message


def test_decorator_rejects_contradictory_flags() -> None:
    with pytest.raises(ValueError, match="either submit or evaluate"):
        transaction(submit=True, evaluate=True)


def test_contract_definition_errors_are_found_at_construction() -> None:
    class NoContext(Contract):
        @submit
        def Bad(self) -> None: ...

    class Unsupported(Contract):
        @submit
        def Bad(self, ctx: Context, value: set[int]) -> None: ...

    class Star(Contract):
        @submit
        def Bad(self, ctx: Context, *values: str) -> None: ...

    for contract in (NoContext(), Unsupported(), Star()):
        with pytest.raises(ContractDefinitionError):
            ContractChaincode([contract])
    with pytest.raises(ContractDefinitionError, match="repeated"):
        ContractChaincode([Assets(), Assets()])
    with pytest.raises(ContractDefinitionError, match="reserved"):
        ContractChaincode([Assets(name="bad:name")])
    with pytest.raises(ContractDefinitionError, match="default contract"):
        ContractChaincode([Assets()], default="missing")


def test_get_metadata_follows_the_contract_metadata_schema() -> None:
    response = call([Assets(), Hooked()], f"{SYSTEM_CONTRACT}:GetMetadata")
    metadata = json.loads(response.payload)
    assert metadata["info"] == {"title": "assets", "version": ""}
    assert set(metadata["contracts"]) == {"assets", "hooked", SYSTEM_CONTRACT}
    assets = metadata["contracts"]["assets"]
    assert assets["name"] == "assets" and assets["default"] is True
    assert metadata["contracts"]["hooked"]["default"] is False
    transactions = {tx["name"]: tx for tx in assets["transactions"]}
    assert set(transactions) == {"Create", "Numbers", "Renamed", "Optional", "WrongReturn", "Raw"}
    assert transactions["Create"]["tag"] == ["submit", "SUBMIT"]
    assert transactions["Numbers"]["tag"] == ["evaluate", "EVALUATE"]
    assert transactions["Numbers"]["parameters"] == [
        {"name": "count", "schema": {"type": "integer", "format": "int64"}},
        {"name": "ratio", "schema": {"type": "number", "format": "double"}},
        {"name": "flag", "schema": {"type": "boolean"}},
        {"name": "color", "schema": {"type": "string", "enum": ["red", "blue"]}},
    ]
    assert transactions["Create"]["returns"] == {"$ref": "#/components/schemas/Asset"}
    schemas = metadata["components"]["schemas"]
    assert schemas["Asset"]["$id"] == "Asset"
    assert schemas["Asset"]["required"] == ["id", "size", "owner"]
    assert schemas["Asset"]["properties"]["owner"] == {"$ref": "#/components/schemas/Owner"}
    assert schemas["Asset"]["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert schemas["Owner"]["additionalProperties"] is False
    system = metadata["contracts"][SYSTEM_CONTRACT]["transactions"]
    assert system == [
        {
            "name": "GetMetadata",
            "tag": ["evaluate", "EVALUATE"],
            "returns": {"type": "string", "format": "byte"},
        }
    ]


def test_metadata_property_matches_get_metadata() -> None:
    chaincode = ContractChaincode([Assets()], title="cc", version="2.0")
    ledger = MemoryLedger()
    ledger.deploy("cc", chaincode)
    payload = asyncio.run(ledger.evaluate("cc", f"{SYSTEM_CONTRACT}:GetMetadata")).payload
    assert json.loads(payload) == chaincode.metadata
    assert chaincode.metadata["info"] == {"title": "cc", "version": "2.0"}


def test_results_are_serialized_by_type() -> None:
    class Results(Contract):
        @evaluate
        def Value(self, ctx: Context, kind: str) -> Any:
            return {"none": None, "bool": False, "int": 7, "float": 0.5, "enum": Color.RED, "list": (1, "a")}[
                kind
            ]

    expected = {
        "none": b"",
        "bool": b"false",
        "int": b"7",
        "float": b"0.5",
        "enum": b"red",
        "list": b'[1,"a"]',
    }
    for kind, payload in expected.items():
        assert call([Results()], "Value", kind).payload == payload
