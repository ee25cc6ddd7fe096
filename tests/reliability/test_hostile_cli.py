"""Hostile consortium files and command lines: refused clearly, nothing started, written or committed.

Consortium files (malformed YAML, binary, wrong types, ports out of range, names that escape folders,
unknown references) are loaded by the library (:func:`fabrx_network.load_consortium`, which must raise
:class:`fabrx_network.ConfigError` naming the field) and given to the command line (``fabrx --config F
network status``, which must exit non-zero without a traceback, naming the field, and create no run
directory). Every call is bounded at 5 s.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from netsupport import DEFAULT_CONSORTIUM
from relsupport import CALL_TIMEOUT_S, Figures, bounded, channel_height

from fabrx_cli.main import cli
from fabrx_network import ConfigError, ConsortiumNetwork, load_consortium

BASE: dict[str, Any] = yaml.safe_load(DEFAULT_CONSORTIUM.read_text(encoding="utf-8"))


def _with(path: str, value: Any) -> dict[str, Any]:
    """The default consortium with ``path`` (``orgs.0.peers.0.port``) set to ``value``."""
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[int(last) if isinstance(target, list) else last] = value
    return data


def _without(path: str) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    del target[int(last) if isinstance(target, list) else last]
    return data


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9)
)
"""The "billion laughs": nine levels of aliases, 10^9 strings if expanded."""

# (id, file content, what the answer must name)
CONFIG_FILES: list[tuple[str, str | bytes, str]] = [
    ("binary", bytes(range(256)), "UTF-8"),
    ("empty", "", "consortium"),
    ("null", "null\n", "consortium"),
    ("list", "- a\n- b\n", "mapping"),
    ("scalar", "hello\n", "mapping"),
    ("unclosed-bracket", "orgs: [\n", "YAML"),
    ("tab-indentation", "orgs:\n\t- name: A\n", "YAML"),
    ("billion-laughs", LAUGHS, "a"),
    ("deep-nesting", "orgs: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    ("huge-string", _dump(_with("name", "n" * 200_000)), "name"),
    ("port-base-text", _dump(_with("port_base", "abc")), "port_base"),
    ("port-base-negative", _dump(_with("port_base", -1)), "port_base"),
    ("port-base-zero", _dump(_with("port_base", 0)), "port_base"),
    ("port-base-privileged", _dump(_with("port_base", 80)), "port_base"),
    ("port-base-99999", _dump(_with("port_base", 99999)), "port_base"),
    ("port-base-near-top", _dump(_with("port_base", 65530)), "port"),
    ("port-base-ephemeral", _dump(_with("port_base", 40000)), "ephemeral"),
    ("port-base-float", _dump(_with("port_base", 7050.5)), "port_base"),
    ("port-base-bool", _dump(_with("port_base", True)), "port_base"),
    ("port-base-list", _dump(_with("port_base", [7050])), "port_base"),
    ("port-base-null", _dump(_with("port_base", None)), "port_base"),
    ("name-empty", _dump(_with("name", "")), "name"),
    ("name-path", _dump(_with("name", "../../etc")), "name"),
    ("name-number", _dump(_with("name", 12)), "name"),
    ("host-empty", _dump(_with("host", "")), "host"),
    ("host-garbage", _dump(_with("host", "not a host!")), "host"),
    ("orgs-text", _dump(_with("orgs", "Regulator")), "orgs"),
    ("orgs-empty", _dump(_with("orgs", [])), "orgs"),
    ("orgs-strings", _dump(_with("orgs", ["Regulator", "HospitalA"])), "orgs[0]"),
    ("org-name-missing", _dump(_without("orgs.0.name")), "orgs[0].name"),
    ("org-name-path", _dump(_with("orgs.0.name", "../Regulator")), "orgs[0].name"),
    ("org-name-spaces", _dump(_with("orgs.0.name", "Regulator Bureau")), "orgs[0].name"),
    ("org-name-unicode", _dump(_with("orgs.0.name", "监管局")), "orgs[0].name"),
    ("org-name-duplicate", _dump(_with("orgs.1.name", BASE["orgs"][0]["name"])), BASE["orgs"][0]["name"]),
    ("org-role-number", _dump(_with("orgs.0.role", 3)), "orgs[0].role"),
    ("org-peers-text", _dump(_with("orgs.0.peers", "peer0")), "orgs[0].peers"),
    ("org-unknown-key", _dump(_with("orgs.0.colour", "blue")), "colour"),
    ("peer-name-missing", _dump(_without("orgs.0.peers.0.name")), "orgs[0].peers[0]"),
    ("peer-port-zero", _dump(_with("orgs.0.peers.0.port", 0)), "port"),
    ("peer-port-70000", _dump(_with("orgs.0.peers.0.port", 70000)), "port"),
    ("peer-port-text", _dump(_with("orgs.0.peers.0.port", "seven")), "port"),
    ("peer-port-negative", _dump(_with("orgs.0.peers.0.port", -7051)), "port"),
    ("orderer-org-missing", _dump(_without("orderer_org")), "orderer_org"),
    ("orderer-org-text", _dump(_with("orderer_org", "Orderer")), "orderer_org"),
    ("consensus-unknown", _dump(_with("orderer_org.consensus", "pbft9")), "consensus"),
    ("variants-empty", _dump(_with("orderer_org.variants", {})), "variants"),
    ("channels-missing", _dump(_without("channels")), "channels"),
    ("channels-empty", _dump(_with("channels", [])), "channels"),
    ("channel-name-invalid", _dump(_with("channels.0.name", "Pharma Channel!")), "channels[0].name"),
    ("chaincodes-text", _dump(_with("chaincodes", "pharma")), "chaincodes"),
    ("chaincode-channel-unknown", _dump(_with("chaincodes.0.channel", "nowhere")), "nowhere"),
    (
        "chaincode-policy-garbage",
        _dump(_with("chaincodes.0.endorsement_policy", "OR((")),
        "endorsement_policy",
    ),
    ("chaincode-version-empty", _dump(_with("chaincodes.0.version", "")), "version"),
    ("chaincode-runtime-unknown", _dump(_with("chaincodes.0.runtime", {"cobol": "x"})), "runtime"),
    ("unknown-top-level-key", _dump(_with("prot_base", 7050)), "prot_base"),
]


def _load_unclear(path: Path, names: str) -> str:
    try:
        bounded(lambda: load_consortium(path))
    except TimeoutError:
        return f"no answer within {CALL_TIMEOUT_S:g} s"
    except ConfigError as error:
        return "" if names.lower() in str(error).lower() else f"does not name {names!r}: {str(error)[:400]}"
    except Exception as error:
        return f"not a ConfigError: {type(error).__name__}: {str(error)[:300]}"
    return "accepted"


def _cli_unclear(args: list[str], names: str, *, input: bytes | None = None) -> str:
    """Why ``fabrx ARGS`` does not fail clearly naming ``names`` within 5 s, or ""."""
    try:
        result = bounded(lambda: CliRunner().invoke(cli, args, input=input))
    except TimeoutError:
        return f"no answer within {CALL_TIMEOUT_S:g} s"
    output = result.output
    if result.exit_code == 0:
        return f"exit code 0: {output[:300]}"
    if "Traceback" in output or (
        result.exception is not None and not isinstance(result.exception, SystemExit)
    ):
        return f"a traceback / uncaught {type(result.exception).__name__}: {result.exception}"
    if names.lower() not in output.lower():
        return f"exit {result.exit_code}, does not name {names!r}: {output[:400]}"
    return ""


def test_hostile_consortium_files_are_refused_clearly_by_the_library_and_the_command_line(
    tmp_path: Path, figures: Figures
) -> None:
    problems: list[str] = []
    for case_id, content, names in CONFIG_FILES:
        path = tmp_path / f"{case_id}.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        why = _load_unclear(path, names)
        figures.hostile_case("config", clear=not why)
        if why:
            problems.append(f"load {case_id}: {why}")
        run_dir = tmp_path / f"run-{case_id}"
        why = _cli_unclear(["--config", str(path), "--run-dir", str(run_dir), "network", "status"], names)
        if run_dir.exists():
            why = why or f"created {run_dir}"
        figures.hostile_case("cli", clear=not why)
        if why:
            problems.append(f"cli {case_id}: {why}")
    assert not problems, f"{len(problems)} unclear:\n" + "\n".join(problems)


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _leaf_paths(value: Any, prefix: str = "") -> list[str]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _leaf_paths(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _leaf_paths(item, f"{prefix}.{index}" if prefix else str(index))
    return paths


PATHS = _leaf_paths(BASE)


@settings(max_examples=150, deadline=None)
@given(index=st.integers(min_value=0, max_value=len(PATHS) - 1), value=VALUES)
def test_any_value_anywhere_in_the_consortium_file_is_loaded_or_refused_as_a_config_error(
    index: int, value: Any, figures: Figures
) -> None:
    text = _dump(_with(PATHS[index], value))
    try:
        bounded(lambda: load_consortium(text))
    except ConfigError as error:
        clear = bool(error.problems)
    except Exception:
        clear = False
    else:
        clear = True
    figures.hostile_case("config-property", clear=clear)
    assert clear, f"{PATHS[index]} = {value!r}"


def _invoice_json(**changes: Any) -> str:
    """The sample's first second invoice as JSON, with ``changes`` applied to its fields."""
    from fabrx_pharma import Invoice, InvoiceKind
    from fabrx_pharma.sample import build_sample_scenario

    invoice = next(
        r
        for r in build_sample_scenario().records(Invoice)
        if isinstance(r, Invoice) and r.kind is InvoiceKind.SECOND
    )
    data = json.loads(invoice.to_json())
    data.update(changes)
    return json.dumps(data)


def _batch_json() -> str:
    from fabrx_pharma import Batch
    from fabrx_pharma.sample import build_sample_scenario

    return build_sample_scenario().records(Batch)[0].to_json().decode()


def test_hostile_command_lines_against_the_running_network_are_refused_clearly_and_commit_nothing(
    network: ConsortiumNetwork, tmp_path: Path, figures: Figures
) -> None:
    """``fabrx pharma`` against the session's network with bad options, files and arguments: each
    exits non-zero without a traceback within 5 s, naming what is wrong; the channel's height is
    unchanged afterwards."""
    files = {
        "not-utf8.json": b"\xff\xfe{\x00",
        "not-json.json": b"{ this is not json",
        "list.json": b"[1, 2, 3]",
        "empty.json": b"",
        "huge.json": b'{"number": "' + b"9" * 6_000_000 + b'"}',
        "number-letters.json": _invoice_json(number="2435200000000000X009").encode(),
        "quantity-text.json": _invoice_json(total="lots").encode(),
        "batch.json": _batch_json().encode(),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    f = {name: str(tmp_path / name) for name in files}
    run = ["--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir)]

    def pharma(org: str, *args: str) -> list[str]:
        return ["pharma", "--org", org, *args]

    def issue(name: str) -> list[str]:
        return pharma("DistributorA", "issue-invoice", f[name])

    cases: list[tuple[str, list[str], str]] = [
        ("unknown-org", pharma("Nobody", "stock", "P", "B"), "Nobody"),
        ("org-path", pharma("../HospitalA", "stock", "P", "B"), "../HospitalA"),
        ("party-without-msp", pharma("HospitalA", "--party", "CLINIC-1", "stock", "P", "B"), "client-msp"),
        ("missing-file", pharma("DistributorA", "issue-invoice", str(tmp_path / "nope.json")), "nope.json"),
        ("not-utf8", issue("not-utf8.json"), "UTF-8"),
        ("not-json", issue("not-json.json"), "JSON"),
        ("json-list", issue("list.json"), "object"),
        ("empty-file", issue("empty.json"), "JSON"),
        ("huge-file", issue("huge.json"), "at most 1048576"),
        ("number-letters", issue("number-letters.json"), "number"),
        ("total-text", issue("quantity-text.json"), "total"),
        ("wrong-role", pharma("HospitalA", "record-batch", f["batch.json"]), "manufacturer"),
        ("read-bad-number", pharma("DistributorA", "read-invoice", "12345"), "number"),
        ("trace-huge-id", pharma("Regulator", "trace", "--prescription", "R" * 10_000), "prescription"),
        ("stock-unknown-holder", pharma("Regulator", "stock", "P", "B", "--holder", "Nobody"), "Nobody"),
    ]
    before = channel_height(network, "DistributorA")
    problems: list[str] = []
    for case_id, args, names in cases:
        why = _cli_unclear([*run, *args], names)
        figures.hostile_case("cli-network", clear=not why)
        if why:
            problems.append(f"{case_id}: {why}")
    after = channel_height(network, "DistributorA")
    assert not problems, f"{len(problems)} of {len(cases)} unclear:\n" + "\n".join(problems)
    assert after == before, f"hostile command lines committed {after - before} block(s)"
