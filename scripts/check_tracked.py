#!/usr/bin/env python3
"""Fail when git tracks what must never be committed: environments, build outputs, big files.

A virtualenv (7,423 files, with the absolute paths of the machine that built it) was once
committed by ``git add -A``; ``make lint`` and the tests run this check so it cannot recur.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# A path component that marks an environment or a build output.
FORBIDDEN = re.compile(
    r"(^|/)(\.?venv[^/]*|site-packages|node_modules|__pycache__|\.pytest_cache|\.ruff_cache"
    r"|build|dist|[^/]+\.egg-info|\.shrek|\.hypothesis|\.import_linter_cache)/"
    r"|^(site|\.docs-site)/"  # the documentation site mkdocs builds (make docs, make lint)
)
MAX_BYTES = 1024 * 1024  # nothing SHREK needs in git is this large


def problems(root: Path) -> list[str]:
    """Every tracked path that is an environment, a build output or over ``MAX_BYTES``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout.decode("utf-8", "surrogateescape")
    found = []
    for path in filter(None, listed.split("\0")):
        if FORBIDDEN.search(path) or path.endswith((".pyc", ".pyo")):
            found.append(f"{path}: an environment or build output is tracked")
        elif (root / path).is_file() and (root / path).stat().st_size > MAX_BYTES:
            found.append(f"{path}: over {MAX_BYTES // 1024} KiB")
    return found


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    found = problems(root)
    for line in found[:20]:
        print(line, file=sys.stderr)
    if found:
        print(
            f"{len(found)} tracked file(s) must not be in git: git rm -r --cached them and "
            "list them in .gitignore",
            file=sys.stderr,
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
