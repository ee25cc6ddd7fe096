"""systemd service units for an organization's nodes: the production way to run them on a Debian host.

``fabrx network up`` supervises its processes itself, which suits a developer machine; on a member's
host the nodes must start on boot and come back after a crash without anyone running ``fabrx``. From
the :class:`~fabrx_network.render.ProcessSpec` of each node (the exact argv, environment, working
directory and log file ``up`` uses) :func:`systemd_units` writes one ``.service`` unit per node and one
``.target`` that groups them:

- ``After=``/``Wants=network-online.target``: a node starts once the host's network is up;
- ``Restart=on-failure`` with ``RestartSec=``: a node that crashes is started again, one that is stopped
  on purpose (``systemctl stop``) is not;
- ``User=`` (and ``Group=``): the account that owns the run directory, never root by default;
- ``UMask=0077``: what the node creates (ledgers, CA database, keys) stays owner-only, as under ``up``;
- ``WorkingDirectory=``, every environment variable of the node, ``PATH`` (the peer's chaincode
  builders run ``python3`` from it) and the log file (``StandardOutput=append:``) as ``up`` has them;
- ``NoNewPrivileges=``, ``PrivateTmp=``, ``ProtectSystem=full``: what a node never needs is taken away;
- ``LimitNOFILE=``: a peer or orderer holds a socket per connection and a file per ledger segment.

The target ``Wants=`` every unit, and each unit is ``PartOf=`` the target, so ``systemctl enable --now
<target>`` starts the organization's nodes now and on every boot, and ``systemctl stop <target>`` stops
them all. No secret goes into a unit: a node's environment holds paths, never a key or a password.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import NetworkError
from .render import ProcessSpec

__all__ = ["SystemdUnits", "systemd_units", "unit_name"]

RESTART_DELAY_S = 5
"""Seconds systemd waits before starting a node that failed again."""

OPEN_FILES_LIMIT = 65536

_USER = re.compile(r"^[a-z_][a-z0-9_-]*[$]?$")
_PLAIN = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


@dataclass(frozen=True)
class SystemdUnits:
    """The unit files of one organization's nodes: file name → text, the target's name first."""

    target: str
    files: Mapping[str, str]

    def write(self, folder: Path) -> list[Path]:
        """Write every unit into ``folder`` (created if missing), mode 0644 as systemd expects.

        Returns the paths written. Raises :class:`NetworkError` if ``folder`` cannot be written.
        """
        written = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in self.files.items():
                path = folder / name
                path.write_text(text, encoding="utf-8")
                path.chmod(0o644)
                written.append(path)
        except OSError as exc:
            raise NetworkError(f"cannot write the systemd units into {folder}: {exc.strerror}") from exc
        return written


def unit_name(prefix: str, node: str) -> str:
    """The unit file name of ``node``: ``fabrx-pharma-peer0.HospitalA.service`` for prefix
    ``fabrx-pharma``. Node names hold letters, digits, ``.``, ``-`` and ``_`` only, all valid in units."""
    return f"{prefix}-{node}.service"


def systemd_units(
    specs: Sequence[ProcessSpec],
    *,
    prefix: str,
    description: str,
    user: str,
    group: str | None = None,
    path: str,
) -> SystemdUnits:
    """The units that run ``specs`` (one organization's nodes) under systemd, and their target.

    ``prefix`` starts every unit's name (``fabrx-<consortium>-<organization>``, also the target's name);
    ``description`` names the organization in each unit's description; ``user`` and ``group`` the account
    the nodes run as; ``path`` the ``PATH`` they get.

    Raises:
        NetworkError: no node to run, an invalid user or group name, or a prefix systemd cannot take.
    """
    if not specs:
        raise NetworkError("no node to write a systemd unit for")
    for what, name in (("user", user), ("group", group)):
        if name is not None and not _USER.match(name):
            raise NetworkError(f"{name!r} is not a valid {what} name for systemd (User=/Group=)")
    if not re.match(r"^[A-Za-z0-9_.-]+$", prefix):
        raise NetworkError(f"{prefix!r} cannot start a unit name: use letters, digits, '.', '_' and '-'")
    target = f"{prefix}.target"
    services = [unit_name(prefix, spec.name) for spec in specs]
    files = {
        target: "\n".join(
            [
                "[Unit]",
                f"Description=fabrx nodes of {description}",
                "After=network-online.target",
                "Wants=network-online.target",
                f"Wants={' '.join(services)}",
                "",
                "[Install]",
                "WantedBy=multi-user.target",
                "",
            ]
        )
    }
    for spec, service in zip(specs, services, strict=True):
        files[service] = _service(spec, target, description, user, group, path)
    return SystemdUnits(target=target, files=files)


def _service(
    spec: ProcessSpec, target: str, description: str, user: str, group: str | None, path: str
) -> str:
    environment = {**spec.env, "PATH": path}
    lines = [
        "[Unit]",
        f"Description=fabrx {spec.kind} {spec.name} of {description}",
        "After=network-online.target",
        "Wants=network-online.target",
        f"PartOf={target}",
        "",
        "[Service]",
        "Type=simple",
        f"User={user}",
        *([f"Group={group}"] if group else []),
        f"WorkingDirectory={_escape_specifiers(str(spec.cwd))}",
        *(_environment(key, value) for key, value in environment.items()),
        f"ExecStart={' '.join(_argument(a) for a in spec.argv)}",
        "UMask=0077",
        "Restart=on-failure",
        f"RestartSec={RESTART_DELAY_S}",
        f"StandardOutput=append:{_escape_specifiers(str(spec.log_path))}",
        f"StandardError=append:{_escape_specifiers(str(spec.log_path))}",
        f"LimitNOFILE={OPEN_FILES_LIMIT}",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectSystem=full",
        "",
        "[Install]",
        f"WantedBy={target}",
        "",
    ]
    return "\n".join(lines)


def _escape_specifiers(text: str) -> str:
    """systemd expands ``%x`` specifiers in most settings: a literal ``%`` is written ``%%``."""
    return text.replace("%", "%%")


def _environment(key: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'Environment="{key}={_escape_specifiers(escaped)}"'


def _argument(arg: str) -> str:
    """One ``ExecStart=`` argument: specifiers and ``$`` escaped, quoted when it is not plain."""
    text = _escape_specifiers(arg).replace("$", "$$")
    if _PLAIN.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
