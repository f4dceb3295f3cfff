"""Dynamic shell completion: tag labels, full names, ``TAG/STEP`` targets, builds, templates
and dataset names.

Completion runs on every key press, so it never raises and never prints: outside a registry,
or on any error, it offers nothing.
"""

from __future__ import annotations

from pathlib import Path

from shrek.core.model import step_files
from shrek.core.registry import Registry


def _registry(root: Path | None) -> Registry | None:
    try:
        return Registry.open(root) if root else Registry.find()
    except Exception:
        return None


def tags(root: Path | None, incomplete: str) -> list[str]:
    registry = _registry(root)
    if registry is None:
        return []
    names = registry.tag_names()
    labels = [n.partition("-")[0] for n in names]
    return [c for c in dict.fromkeys(labels + names) if c.startswith(incomplete)]


def targets(root: Path | None, incomplete: str) -> list[str]:
    registry = _registry(root)
    if registry is None:
        return []
    if "/" not in incomplete:
        return [c for c in tags(root, incomplete)]
    name, _, partial = incomplete.partition("/")
    try:
        resolved = registry.resolve(name)
    except Exception:
        return []
    return [
        f"{name}/{p.stem}"
        for p in step_files(registry.tag_dir(resolved))
        if p.stem.startswith(partial)
    ]


def builds(root: Path | None, incomplete: str) -> list[str]:
    """The builds ``shrek.yaml`` lists."""
    registry = _registry(root)
    return [b for b in (registry.builds if registry else {}) if b.startswith(incomplete)]


def templates(incomplete: str) -> list[str]:
    """The templates ``tag new --template`` knows (they ship with SHREK)."""
    from shrek.ops.tag import TEMPLATES_DIR

    found = sorted(p.name for p in TEMPLATES_DIR.iterdir() if p.is_dir())
    return [t for t in found if t.startswith(incomplete)]


def datasets(root: Path | None, incomplete: str) -> list[str]:
    """The catalogue's dataset names (a Rucio catalogue is not asked: completion is local)."""
    registry = _registry(root)
    if registry is None or registry.settings.get("catalog", "local") != "local":
        return []
    try:
        from shrek.catalogs.factory import open_catalog

        return [d.name for d in open_catalog(registry).datasets() if d.name.startswith(incomplete)]
    except Exception:
        return []
