"""Build fabrx's user-facing distributions (wheel and sdist each) from this one repository.

Every folder beside this script that holds a ``pyproject.toml`` is one distribution. Its
``[tool.fabrx-dist]`` table selects repository files without moving them:

- ``include``: folders or files; each lands in the distribution under its path without the first
  component (``sdk/fabrx`` becomes the package ``fabrx``, ``cli/fabrx_cli/demo.py`` the module
  ``fabrx_cli.demo``);
- ``exclude``: folders or files under ``include`` left out;
- ``copy``: ``{"repository path" = "path in the distribution"}`` for data files (real copies: packages
  hold no symlinks).

The script stages each distribution in a scratch folder (its ``pyproject.toml`` with ``{version}``
replaced by the root ``pyproject.toml``'s version, its ``README.md``, the repository's ``LICENSE``, the
selected files under ``src/``) and runs ``python -m build`` there, with the build backend of the
running environment (``make install`` provides it). Usage::

    python distributions/build.py --out dist [NAME ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


class DistError(Exception):
    """A distribution's definition or build is wrong; the message names the distribution."""


@dataclass(frozen=True)
class Distribution:
    """One distribution as ``distributions/<name>/pyproject.toml`` declares it."""

    name: str
    folder: Path
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    copy: tuple[tuple[str, str], ...]

    def sources(self) -> Iterator[tuple[Path, Path]]:
        """Every (repository file, path under ``src/``) this distribution ships, data copies included."""
        excluded = [ROOT / e for e in self.exclude]
        for entry in self.include:
            top = ROOT / entry
            if not top.exists():
                raise DistError(f"{self.name}: include {entry!r} does not exist")
            files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
            for file in files:
                if "__pycache__" in file.parts or file.suffix in (".pyc", ".pyo"):
                    continue
                if any(file == e or e in file.parents for e in excluded):
                    continue
                yield file, file.relative_to(ROOT / Path(entry).parts[0])
        for source, target in self.copy:
            if not (ROOT / source).is_file():
                raise DistError(f"{self.name}: copy source {source!r} is not a file")
            yield ROOT / source, Path(target)


def version() -> str:
    """The version of every distribution: the root ``pyproject.toml``'s."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def distributions(names: Iterable[str] = ()) -> list[Distribution]:
    """The distributions defined beside this script (only ``names`` when given), sorted by name."""
    found = {}
    for pyproject in sorted(HERE.glob("*/pyproject.toml")):
        with pyproject.open("rb") as f:
            data = tomllib.load(f)
        spec = data.get("tool", {}).get("fabrx-dist", {})
        name = pyproject.parent.name
        if data["project"]["name"] != name:
            raise DistError(f"{pyproject}: project.name must be the folder name {name!r}")
        found[name] = Distribution(
            name=name,
            folder=pyproject.parent,
            include=tuple(spec.get("include", ())),
            exclude=tuple(spec.get("exclude", ())),
            copy=tuple(spec.get("copy", {}).items()),
        )
    wanted = list(names) or list(found)
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        raise DistError(f"no distribution {', '.join(unknown)} (known: {', '.join(found)})")
    return [found[n] for n in sorted(wanted)]


def stage(dist: Distribution, into: Path, release: str) -> Path:
    """Lay out ``dist`` as a standalone project in ``into/<name>`` and return that folder.

    Raises:
        DistError: a selected path is missing or a symlink, or two sources land on one path.
    """
    project = into / dist.name
    project.mkdir(parents=True)
    text = (dist.folder / "pyproject.toml").read_text(encoding="utf-8")
    (project / "pyproject.toml").write_text(text.replace("{version}", release), encoding="utf-8")
    shutil.copyfile(dist.folder / "README.md", project / "README.md")
    shutil.copyfile(ROOT / "LICENSE", project / "LICENSE")
    placed: dict[Path, Path] = {}
    for source, target in dist.sources():
        if source.is_symlink():
            raise DistError(f"{dist.name}: {source.relative_to(ROOT)} is a symlink; ship a real file")
        if target in placed:
            raise DistError(f"{dist.name}: {source} and {placed[target]} both land on {target}")
        placed[target] = source
        destination = project / "src" / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)  # keeps the executable bit of the chaincode builder scripts
    return project


def build(dist: Distribution, out: Path, release: str) -> list[Path]:
    """Build the sdist and, from it, the wheel of ``dist`` into ``out``; return the two files.

    Raises:
        DistError: staging failed or the build backend reported an error (its output is included).
    """
    with tempfile.TemporaryDirectory(prefix=f"fabrx-dist-{dist.name}-") as scratch:
        project = stage(dist, Path(scratch), release)
        before = set(out.glob("*"))
        result = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(project)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DistError(f"{dist.name}: build failed\n{result.stdout}{result.stderr}")
    return sorted(set(out.glob("*")) - before)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="distributions to build (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default: dist)")
    args = parser.parse_args(argv)
    release = version()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        for dist in distributions(args.names):
            for old in out.glob(f"{dist.name.replace('-', '_')}-*"):
                old.unlink()
            for file in build(dist, out, release):
                print(file.relative_to(out.parent) if out.parent in file.parents else file)
    except DistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
