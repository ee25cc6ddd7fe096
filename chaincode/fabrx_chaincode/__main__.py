"""``python -m fabrx_chaincode module:Contract [module:Contract ...]``: serve contracts as a CCaaS server.

Settings come from the CCaaS environment (see :meth:`fabrx_chaincode.ServerConfig.from_environment`);
``CHAINCODE_LOG_LEVEL`` (default INFO) sets the level of the ``fabrx_chaincode`` logger, which logs to
stderr. The root logger is left alone.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from ._loader import load_contracts
from ._server import ServerConfig, serve
from .errors import ChaincodeError

USAGE = "usage: python -m fabrx_chaincode module:ContractClass [module:ContractClass ...]"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server; returns the process exit status (2 for usage or configuration errors)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + (__doc__ or "").strip(), file=sys.stderr)
        return 0 if args else 2
    logger = logging.getLogger("fabrx_chaincode")
    if not any(not isinstance(h, logging.NullHandler) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    try:
        logger.setLevel(os.environ.get("CHAINCODE_LOG_LEVEL", "INFO").upper())
    except ValueError as exc:
        print(f"fabrx_chaincode: CHAINCODE_LOG_LEVEL: {exc}", file=sys.stderr)
        return 2
    try:
        config = ServerConfig.from_environment()
        contracts = load_contracts(args)
        serve(contracts, address=config.address, chaincode_id=config.chaincode_id, tls=config.tls)
    except ChaincodeError as exc:
        print(f"fabrx_chaincode: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
