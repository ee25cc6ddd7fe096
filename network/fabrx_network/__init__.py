"""fabrx network tooling: the consortium as code, turned into running Fabric processes.

Pipeline: :func:`load_consortium` (parse, validate every problem at once, resolve defaults) →
:func:`render_network` (Fabric's own files and process specs into a :class:`RunLayout`) →
:class:`ConsortiumNetwork` (``up`` / ``down`` / ``status`` / ``logs``). Fabric binaries come from
:func:`ensure_fabric`. On a production host systemd runs an organization's nodes instead
(:func:`systemd_units`).
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _distribution_version

try:
    __version__ = _distribution_version("fabrx-network")
except _PackageNotFoundError:  # the development install: one distribution, fabrx, holds every package
    __version__ = _distribution_version("fabrx")

from .config import ConfigError, Consortium, Problem, load_consortium
from .errors import HealthError, InstallError, NetworkError, NetworkNotUp, ProcessError, UpError
from .install import FabricInstall, doctor, ensure_fabric, find_fabric
from .layout import RunLayout
from .operations import (
    ConsortiumNetwork,
    NetworkStatus,
    NodeStatus,
    RestartReport,
    UpReport,
    default_config_path,
    open_network,
)
from .render import ProcessSpec, RenderedNetwork, render_network, write_rendered
from .units import SystemdUnits, systemd_units

__all__ = [
    "ConfigError",
    "Consortium",
    "ConsortiumNetwork",
    "FabricInstall",
    "HealthError",
    "InstallError",
    "NetworkError",
    "NetworkNotUp",
    "NetworkStatus",
    "NodeStatus",
    "Problem",
    "ProcessError",
    "ProcessSpec",
    "RenderedNetwork",
    "RestartReport",
    "RunLayout",
    "SystemdUnits",
    "UpError",
    "UpReport",
    "default_config_path",
    "doctor",
    "ensure_fabric",
    "find_fabric",
    "load_consortium",
    "open_network",
    "render_network",
    "systemd_units",
    "write_rendered",
]
