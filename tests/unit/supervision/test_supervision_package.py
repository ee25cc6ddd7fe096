from __future__ import annotations

import subprocess
import sys

import fabrx_pharma_supervision

EXPECTED_NAMES = """
DEFAULT_FEED BlockUndecodable CodeChain DecodedBlock FeedOutOfOrder FeedProgress FindingFilter
LedgerBlock LedgerFeed LedgerWrite MissingRecord NotFound SchemaMismatch StoreUnavailable StoredFinding
SupervisionError SupervisionStore TradeRow WriteInvalid decode_block engine_url
"""


def test_public_names_are_pinned() -> None:
    assert sorted(fabrx_pharma_supervision.__all__) == sorted(EXPECTED_NAMES.split())
    for name in fabrx_pharma_supervision.__all__:
        assert hasattr(fabrx_pharma_supervision, name), name


def test_every_error_derives_from_the_package_root() -> None:
    for name in fabrx_pharma_supervision.__all__:
        value = getattr(fabrx_pharma_supervision, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, fabrx_pharma_supervision.SupervisionError), name


def test_the_store_does_not_load_the_gateway_client() -> None:
    code = "import sys, fabrx_pharma_supervision; print('fabrx' in sys.modules, 'grpc' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
