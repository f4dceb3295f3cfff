"""Which SHREK is installed here, and how a CI machine installs exactly the same one.

The workflow ``shrek init`` writes checks pull requests with the SHREK that made the registry.
The answer comes from the installed distribution's own record of where it came from
(PEP 610, ``direct_url.json`` in its ``.dist-info``):

- no such file: it came from an index (PyPI), so ``sphenix-shrek==<version>``;
- a VCS URL: ``sphenix-shrek @ git+<url>@<commit>``, the very commit;
- an archive at a URL: that URL (with its hash when pip recorded one);
- a local directory or file: nothing another machine can install; the caller says how to
  choose one (``shrek init --shrek-install``, or ``shrek_install`` in ``shrek.yaml``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from shrek.errors import ExitCode, ShrekError

DISTRIBUTION = "sphenix-shrek"
# A pip requirement for SHREK on one line, as shrek.yaml keeps it between double quotes:
# "sphenix-shrek==0.1.0", "sphenix-shrek[panda]>=0.1", "sphenix-shrek @ git+https://...@abc".
_REQUIREMENT = re.compile(r"sphenix-shrek(\[[a-z,]+\])?( ?@ ?|[=<>!~]=?)[^\s\"\\]+")


@dataclass(frozen=True)
class InstallSource:
    """A pip requirement for this SHREK, or why there is none (``requirement`` empty)."""

    requirement: str
    why_not: str = ""


def requested(requirement: str) -> InstallSource:
    """``shrek init --shrek-install REQUIREMENT``, checked before anything is written."""
    if not _REQUIREMENT.fullmatch(requirement):
        raise ShrekError(
            f"--shrek-install {requirement!r} is not a pip requirement for SHREK on one line",
            'give e.g. "sphenix-shrek==0.1.0" or '
            '"sphenix-shrek @ git+https://github.com/BNLNPPS/shrek@COMMIT"',
            ExitCode.USAGE,
        )
    return InstallSource(requirement)


def install_source() -> InstallSource:
    """How to install the SHREK that runs this code, read from its distribution's metadata."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return InstallSource("", f"{DISTRIBUTION} is not installed (SHREK runs from its sources)")
    text = dist.read_text("direct_url.json")
    if text is None:
        return InstallSource(f"{DISTRIBUTION}=={dist.version}")
    try:
        return from_direct_url(json.loads(text), dist.version)
    except (ValueError, KeyError, TypeError, AttributeError):
        return InstallSource("", f"its direct_url.json cannot be read: {text[:200]}")


def from_direct_url(direct: dict[str, Any], version: str) -> InstallSource:
    """The requirement a PEP 610 record describes (see the module's docstring)."""
    url = str(direct["url"])
    if "vcs_info" in direct:
        vcs = direct["vcs_info"]
        return InstallSource(f"{DISTRIBUTION} @ {vcs['vcs']}+{url}@{vcs['commit_id']}")
    local = url.startswith("file:")
    if "archive_info" in direct and not local:
        hashes = direct["archive_info"].get("hashes") or {}
        fragment = f"#sha256={hashes['sha256']}" if "sha256" in hashes else ""
        return InstallSource(f"{DISTRIBUTION} @ {url}{fragment}")
    how = "as an editable install of" if (direct.get("dir_info") or {}).get("editable") else "from"
    return InstallSource(
        "",
        f"SHREK {version} was installed {how} {url.removeprefix('file://')}, a path on this "
        "machine that CI cannot install",
    )
