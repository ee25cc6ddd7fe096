"""The OpenAPI document: the checked-in copy is the one the service generates and serves."""

from __future__ import annotations

import json
from pathlib import Path

from service_fakes import Services

from fabrx_pharma_service.app import iter_operations

REPO = Path(__file__).resolve().parents[3]
CHECKED_IN = REPO / "service" / "openapi.json"


def test_the_checked_in_document_is_the_generated_one(tmp_path: Path) -> None:
    served = Services(tmp_path).client("HospitalAMSP").client.get("/v1/openapi.json")
    assert served.status_code == 200
    document = served.json()
    assert json.loads(CHECKED_IN.read_text(encoding="utf-8")) == document, (
        "service/openapi.json is stale: regenerate it with `fabrx serve openapi > service/openapi.json`"
    )


def test_every_operation_is_documented_with_its_errors_and_record_schemas(tmp_path: Path) -> None:
    document = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    operations = set(iter_operations(document))
    assert ("POST", "/v1/invoices") in operations and ("GET", "/v1/traces") in operations
    assert len(operations) == 32
    for method, path in operations:
        answers = document["paths"][path][method.lower()]["responses"]
        if path != "/v1/health":
            assert {"400", "401", "403", "409", "413", "422", "502", "503"} <= set(answers), (method, path)
    schemas = document["components"]["schemas"]
    assert set(schemas["Invoice"]["properties"]) == {
        "number",
        "kind",
        "seller",
        "buyer",
        "issue_date",
        "lines",
        "total",
        "shipment",
        "exemption",
    }
    assert schemas["Invoice"]["properties"]["lines"]["items"] == {"$ref": "#/components/schemas/InvoiceLine"}
    assert document["openapi"].startswith("3.")
    invoice_headers = [p["$ref"] for p in document["paths"]["/v1/invoices"]["post"]["parameters"]]
    assert invoice_headers == [
        f"#/components/parameters/{n}" for n in ("SignatureInput", "ContentDigest", "IdempotencyKey")
    ]
    assert document["paths"]["/v1/health"]["get"]["security"] == []
