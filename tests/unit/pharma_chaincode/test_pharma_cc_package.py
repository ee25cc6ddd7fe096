"""The curated namespace of fabrx_pharma_chaincode."""

from __future__ import annotations

import fabrx_pharma_chaincode


def test_exported_names_are_pinned() -> None:
    assert fabrx_pharma_chaincode.__all__ == [
        "DEFAULT_REGULATORS",
        "INVOICE_TRANSIENT_KEY",
        "PARTY_ATTRIBUTE",
        "RECORD_TRANSIENT_KEY",
        "ROLE_ATTRIBUTE",
        "AccessDenied",
        "Anchor",
        "ChaincodeError",
        "ChaincodeLedger",
        "CollectionGone",
        "ConfigurationError",
        "CopyCheck",
        "Discrepancy",
        "InvoiceVerification",
        "NotFound",
        "NotHeldHere",
        "PharmaService",
        "RecordRefused",
        "RuleRefused",
        "SealedRecord",
        "StateStore",
        "TraceCodeStatus",
        "VerificationRequest",
        "chaincode_endorsement_policy",
        "composite_key",
        "copy_collections",
        "encode",
        "endorsing_organizations",
        "implicit_collection",
        "requests_from_json",
        "to_jsonable",
    ]
    for name in fabrx_pharma_chaincode.__all__:
        assert getattr(fabrx_pharma_chaincode, name) is not None


def test_the_logic_does_not_import_the_chaincode_runtime() -> None:
    # Only contract.py binds to fabrx_chaincode, so the logic runs wherever fabrx_pharma does.
    import subprocess
    import sys

    code = "import sys, fabrx_pharma_chaincode; print('fabrx_chaincode' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
