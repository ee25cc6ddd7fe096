"""The dependency rule between fabrx's two layers (docs/install.md, "The two layers").

- The generic Fabric toolkit (the ``fabrx`` client core, the chaincode runtime ``fabrx_chaincode``, the
  network tooling ``fabrx_network`` and the generic commands of ``fabrx_cli``) imports nothing of the
  pharma application.
- The domain core ``fabrx_pharma`` imports nothing of Fabric, nor of any other fabrx package: the
  standard library and named pure-Python modules only (tests/unit/pharma/test_pharma_package.py checks
  that, and that using it does no I/O).

Checked twice: statically over every import statement of every module (function-level imports included,
so a lazily imported pharma module is caught too), and by importing every generic module in a fresh
interpreter and looking at what got loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

PHARMA = (
    "fabrx_pharma",
    "fabrx_pharma_chaincode",
    "fabrx_pharma_service",
    "fabrx_pharma_supervision",
    "fabrx.pharma",
)
"""The pharma application's packages (a name equal to one of these or under it is pharma)."""
PHARMA_COMMANDS = {"pharma", "demo", "serve", "supervision"}
"""Command modules of ``fabrx_cli`` that belong to the pharma application (its distribution ships them)."""
FABRIC = ("fabrx", "fabrx_chaincode", "fabrx_network", "fabrx_cli", "grpc", "google", "hfc")


def _is_under(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def _module_name(path: Path, source_root: Path) -> str:
    parts = list(path.relative_to(source_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def generic_modules() -> Iterator[tuple[str, Path]]:
    """(module name, file) of every module of the generic toolkit."""
    for source_root, package in (
        (REPO / "sdk", "fabrx"),
        (REPO / "chaincode", "fabrx_chaincode"),
        (REPO / "network", "fabrx_network"),
        (REPO / "cli", "fabrx_cli"),
    ):
        for path in sorted((source_root / package).rglob("*.py")):
            name = _module_name(path, source_root)
            if _is_under(name, PHARMA):
                continue
            if package == "fabrx_cli" and name.split(".")[-1] in PHARMA_COMMANDS:
                continue
            yield name, path


def imported_names(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative imports resolved; for
    ``from X import a`` both ``X`` and ``X.a`` (``a`` may be a submodule)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target:
                yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}" if target else alias.name


def test_the_generic_toolkit_imports_nothing_of_the_pharma_application() -> None:
    modules = list(generic_modules())
    assert len(modules) > 50, "the module walk found too few modules: the layout changed"
    offending = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for module, path in modules
        for line, name in imported_names(module, path)
        if _is_under(name, PHARMA)
    ]
    assert offending == []


def test_importing_every_generic_module_loads_no_pharma_module() -> None:
    names = [name for name, _ in generic_modules() if not name.endswith("__main__")]
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if 'pharma' in m)))\n"
    )
    # fabrx_cli.main loads the commands registered under the fabrx.cli entry points, the pharma ones among
    # them in the development install; the generic modules themselves must not need them.
    code = "import importlib.metadata as m; m.entry_points = lambda **_: []\n" + code
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_the_domain_core_imports_nothing_of_fabric_or_of_other_fabrx_packages() -> None:
    source_root = REPO / "domain"
    offending = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in sorted((source_root / "fabrx_pharma").rglob("*.py"))
        for line, name in imported_names(_module_name(path, source_root), path)
        if _is_under(name, FABRIC)
        or (_is_under(name, PHARMA) and not _is_under(name, ("fabrx_pharma",)))
        or name.startswith("fabrx_pharma_")
    ]
    assert offending == []


def test_the_checker_sees_relative_and_function_level_imports(tmp_path: Path) -> None:
    package = tmp_path / "fabrx_chaincode"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    module = package / "late.py"
    module.write_text(
        "def f():\n    from fabrx_pharma import records\n\n"
        "from . import other\nfrom .. import fabrx_pharma\n",
        encoding="utf-8",
    )
    names = [name for _, name in imported_names("fabrx_chaincode.late", module)]
    assert "fabrx_pharma.records" in names
    assert "fabrx_chaincode.other" in names
    assert "fabrx_pharma" in names  # `from .. import fabrx_pharma` at the top of the source root
