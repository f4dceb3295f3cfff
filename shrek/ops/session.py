"""What every command starts from: the registry it works on, and ``KEY=VALUE`` settings.

The command line reaches the registry only through here and the other ``ops`` modules (the
import contracts in ``.importlinter`` hold it to that).
"""

from __future__ import annotations

import os

from shrek.core.layout import REGISTRY_FILE

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from shrek.core.registry import Registry as Registry  # the CLI annotates with it


def open_registry(root: Path | None, notify: Callable[[str], None] | None = None) -> Registry:
    """The registry at ``root``, else the one the working directory is in. ``notify`` hears
    what the registry says while a command waits (for its lock)."""
    from shrek.core.registry import Registry

    registry = Registry.open(root) if root else Registry.find()
    if notify is not None:
        registry.notify = notify
    return registry


def registry_root() -> str | None:
    """The registry a command without ``--registry`` opens, found as :meth:`Registry.find`
    finds it (or named by ``SHREK_REGISTRY``), by plain ``os`` calls: for the quick answers of
    the command line. None when it is not certainly a registry: the full command decides."""
    named = os.environ.get("SHREK_REGISTRY")
    if named is not None:
        root = os.path.realpath(named) if named else ""
        return root if root and os.path.isfile(os.path.join(root, REGISTRY_FILE)) else None
    try:
        here = os.getcwd()
    except OSError:  # the working directory was removed: typer says so
        return None
    while True:
        if os.path.isfile(os.path.join(here, REGISTRY_FILE)):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def settings_pairs(pairs: list[str] | None, option: str = "--panda") -> dict[str, Any]:
    """``["site=X", "timeout_s=60"]`` -> settings (numbers and booleans read as YAML 1.2 reads
    them; text that is not YAML is kept as written)."""
    import yaml

    from shrek.core.yamlio import loads
    from shrek.errors import ExitCode, ShrekError

    settings: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ShrekError(
                f"{option} takes KEY=VALUE, not '{pair}'", "e.g. --panda site=BNL", ExitCode.USAGE
            )
        try:
            settings[key.strip()] = loads(value) if value else ""
        except yaml.YAMLError:
            settings[key.strip()] = value
    return settings
