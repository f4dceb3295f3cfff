"""What every command starts from: the registry it works on, and ``KEY=VALUE`` settings.

The command line reaches the registry only through here and the other ``ops`` modules (the
import contracts in ``.importlinter`` hold it to that).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shrek.errors import ExitCode, ShrekError

if TYPE_CHECKING:
    from shrek.core.registry import Registry as Registry  # the CLI annotates with it


def open_registry(root: Path | None, notify: Callable[[str], None] | None = None) -> Registry:
    """The registry at ``root``, else the one the working directory is in. ``notify`` hears
    what the registry says while a command waits (for its lock)."""
    from shrek.core.registry import Registry

    registry = Registry.open(root) if root else Registry.find()
    if notify is not None:
        registry.notify = notify
    return registry


def settings_pairs(pairs: list[str] | None, option: str = "--panda") -> dict[str, Any]:
    """``["site=X", "timeout_s=60"]`` -> settings (numbers and booleans read as YAML 1.2 reads
    them; text that is not YAML is kept as written)."""
    import yaml

    from shrek.core.yamlio import loads

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
