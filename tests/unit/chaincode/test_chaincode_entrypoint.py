"""CCaaS configuration from the environment, contract loading, the module entry point and logging hygiene."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from chaincode_fakes import issue

import fabrx_chaincode
from fabrx_chaincode import (
    ContractDefinitionError,
    MemoryLedger,
    ServerConfig,
    ServerConfigError,
    load_contracts,
)
from fabrx_chaincode.__main__ import main

ROOT = Path(__file__).resolve().parents[3]


def test_environment_with_mutual_tls(tmp_path: Path) -> None:
    ca = issue("ca", ca=True)
    server = issue("cc", issuer=ca)
    files = {"key.pem": server.key_pem, "cert.pem": server.cert_pem, "ca.pem": ca.cert_pem}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    config = ServerConfig.from_environment(
        {
            "CHAINCODE_ID": "asset:abc",
            "CHAINCODE_SERVER_ADDRESS": "0.0.0.0:9999",
            "CHAINCODE_TLS_KEY": str(tmp_path / "key.pem"),
            "CHAINCODE_TLS_CERT": str(tmp_path / "cert.pem"),
            "CHAINCODE_CLIENT_CA_CERT": str(tmp_path / "ca.pem"),
        }
    )
    assert (config.chaincode_id, config.address) == ("asset:abc", "0.0.0.0:9999")
    assert config.tls is not None
    assert config.tls.key == server.key_pem and config.tls.client_ca_certificates == ca.cert_pem


def test_environment_without_tls_must_say_so() -> None:
    base = {"CHAINCODE_ID": "asset:abc", "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:9999"}
    with pytest.raises(ServerConfigError, match="CHAINCODE_TLS_DISABLED=true"):
        ServerConfig.from_environment(base)
    assert ServerConfig.from_environment({**base, "CHAINCODE_TLS_DISABLED": "TRUE"}).tls is None
    with pytest.raises(ServerConfigError, match="must be true or false"):
        ServerConfig.from_environment({**base, "CHAINCODE_TLS_DISABLED": "maybe"})


def test_environment_errors_name_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ServerConfigError, match="CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS"):
        ServerConfig.from_environment({})
    with pytest.raises(ServerConfigError, match="TLS key file"):
        ServerConfig.from_environment(
            {
                "CHAINCODE_ID": "a",
                "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:1",
                "CHAINCODE_TLS_KEY": str(tmp_path / "absent.pem"),
                "CHAINCODE_TLS_CERT": str(tmp_path / "absent.pem"),
            }
        )


def test_load_contracts_by_module_and_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "examples" / "chaincode"))
    [contract] = load_contracts(["asset:AssetContract"])
    assert contract.contract_name == "asset"
    with pytest.raises(ContractDefinitionError, match="no attribute"):
        load_contracts(["asset:Missing"])
    with pytest.raises(ContractDefinitionError, match="not a Contract"):
        load_contracts(["asset:_asset_json"])
    with pytest.raises(ServerConfigError, match="cannot import"):
        load_contracts(["no_such_module_xyz:Thing"])


def test_main_reports_configuration_errors_with_exit_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CHAINCODE_ID", raising=False)
    monkeypatch.delenv("CHAINCODE_SERVER_ADDRESS", raising=False)
    assert main(["asset:AssetContract"]) == 2
    assert "CHAINCODE_ID" in capsys.readouterr().err
    assert main([]) == 2


def test_module_entry_point_serves_until_terminated(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT / "examples" / "chaincode"),
        "CHAINCODE_ID": "asset:abc",
        "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0",
        "CHAINCODE_TLS_DISABLED": "true",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "fabrx_chaincode", "asset:AssetContract"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "listening on 127.0.0.1:0" in line
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_failures_log_no_payload_and_root_logger_is_untouched(caplog: pytest.LogCaptureFixture) -> None:
    root_handlers = list(logging.getLogger().handlers)
    root_level = logging.getLogger().level

    class Leaky(fabrx_chaincode.Contract):
        @fabrx_chaincode.submit
        def Boom(self, ctx: fabrx_chaincode.Context, secret: str) -> None:
            raise ValueError(secret)

    memory = MemoryLedger()
    memory.deploy("cc", [Leaky()])
    with caplog.at_level(logging.INFO, logger="fabrx_chaincode"):
        response = memory.submit_sync("cc", "Boom", "TOP-SECRET-VALUE")
    assert response.message == "TOP-SECRET-VALUE"  # the client gets the message...
    assert "ValueError" in caplog.text
    assert "TOP-SECRET-VALUE" not in caplog.text  # ...the log does not
    assert logging.getLogger().handlers == root_handlers
    assert logging.getLogger().level == root_level
