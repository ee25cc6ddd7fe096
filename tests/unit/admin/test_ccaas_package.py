from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from fabrx.admin import ccaas_package, package_id, package_label
from fabrx.errors import AdminError

ROOT = "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n"


def members(data: bytes) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        result = {}
        for info in archive.getmembers():
            extracted = archive.extractfile(info)
            assert extracted is not None
            result[info.name] = (info, extracted.read())
        return result


def test_package_holds_metadata_then_code_archive_as_regular_files() -> None:
    package = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    outer = members(package.data)
    assert list(outer) == ["metadata.json", "code.tar.gz"]
    assert all(info.isreg() for info, _ in outer.values())
    assert json.loads(outer["metadata.json"][1]) == {"type": "ccaas", "label": "kv_1.0"}
    inner = members(outer["code.tar.gz"][1])
    assert list(inner) == ["connection.json"]


def test_connection_json_carries_address_and_tls_material_as_pem_strings() -> None:
    package = ccaas_package(
        "kv_1.0",
        address="cc.example.com:7052",
        dial_timeout="3s",
        tls_required=True,
        client_auth_required=True,
        client_key=b"KEY PEM",
        client_cert="CERT PEM",
        root_cert=ROOT.encode(),
    )
    code = members(package.data)["code.tar.gz"][1]
    connection = json.loads(members(code)["connection.json"][1])
    assert connection == {
        "address": "cc.example.com:7052",
        "dial_timeout": "3s",
        "tls_required": True,
        "client_auth_required": True,
        "client_key": "KEY PEM",
        "client_cert": "CERT PEM",
        "root_cert": ROOT,
    }


def test_same_inputs_give_identical_bytes_and_package_id() -> None:
    first = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    second = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    assert first.data == second.data
    assert first.package_id == second.package_id


def test_different_address_changes_package_id() -> None:
    assert (
        ccaas_package("kv_1.0", address="127.0.0.1:1").package_id
        != ccaas_package("kv_1.0", address="127.0.0.1:2").package_id
    )


def test_archives_have_fixed_times_owners_and_no_gzip_timestamp() -> None:
    package = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    for data in (package.data, members(package.data)["code.tar.gz"][1]):
        assert data[4:8] == b"\x00\x00\x00\x00"  # gzip MTIME field
        for info, _ in members(data).values():
            assert (info.uid, info.gid, info.uname, info.gname, info.mode) == (0, 0, "", "", 0o644)
            assert info.mtime == 946_684_800
    assert gzip.decompress(package.data)  # a valid gzip stream


def test_package_id_is_label_and_sha256_of_package_file() -> None:
    package = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    expected = "kv_1.0:" + hashlib.sha256(package.data).hexdigest()
    assert package.package_id == expected
    assert package_id(package.data) == expected
    assert package_label(package.data) == "kv_1.0"


@pytest.mark.parametrize("label", ["", "_kv", "kv 1", "kv/1", "kv:1"])
def test_invalid_label_is_rejected(label: str) -> None:
    with pytest.raises(ValueError, match="invalid chaincode package label"):
        ccaas_package(label, address="127.0.0.1:1")


def test_tls_flags_require_material() -> None:
    with pytest.raises(ValueError, match="root_cert"):
        ccaas_package("kv", address="127.0.0.1:1", tls_required=True)
    with pytest.raises(ValueError, match="client_key and client_cert"):
        ccaas_package(
            "kv", address="127.0.0.1:1", tls_required=True, root_cert=ROOT, client_auth_required=True
        )
    with pytest.raises(ValueError, match="address"):
        ccaas_package("kv", address="")


def test_package_id_of_non_package_raises_admin_error() -> None:
    with pytest.raises(AdminError, match="not a chaincode package"):
        package_id(b"not a tar.gz")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        info = tarfile.TarInfo("metadata.json")
        content = b'{"type": "ccaas"}'
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    with pytest.raises(AdminError, match="no valid label"):
        package_id(raw.getvalue())
