"""``shrek init``: make a directory a SHREK registry, committed and ready for tags."""

from __future__ import annotations

from pathlib import Path

import yaml

from shrek import __version__
from shrek.core import schema
from shrek.core.ledger import HEADER, LEDGER_FILE
from shrek.core.registry import REGISTRY_FILE, STATE_DIR, TAGS_DIR, Registry
from shrek.core.yamlio import write_atomic
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo

DEFAULTS = Path(__file__).resolve().parent.parent / "defaults"
DEFAULT_SETTINGS = DEFAULTS / "shrek.yaml"
WORKFLOW = DEFAULTS / "github-workflow.yml"

GITIGNORE = f"""\
# SHREK's local working state (catalogue, locks, job runs): never committed.
{STATE_DIR}/
"""


def default_settings(branch: str = "main") -> str:
    """The default ``shrek.yaml``, recording the SHREK version that created the registry and
    its production branch (the branch it was created on).

    The pull-request workflow installs exactly that version, so CI checks tags with the SHREK
    the registry is managed with, not whatever is newest.
    """
    text = DEFAULT_SETTINGS.read_text(encoding="utf-8")
    return text + (
        "\n# The SHREK version this registry is managed with: its pull-request check installs\n"
        "# exactly this one (pip install sphenix-shrek==VERSION).\n"
        f'shrek_version: "{__version__}"\n'
        "# Production submissions are made from this branch only (--test may run anywhere).\n"
        f"production_branch: {branch}\n"
        "# The build 'shrek tag new' uses when no --build is given.\n"
        f"default_build: {_first_build(text)}\n"
    )


def _first_build(settings: str) -> str:
    """The first build the default settings list (the default of 'tag new')."""
    return next(iter(yaml.safe_load(settings)["builds"]))


def init_registry(directory: Path) -> Path:
    """Create a registry in ``directory`` (a git repository is initialised if needed).

    Refuses a directory that already is a registry; an existing git repository is reused, and
    the registry files are committed without touching anything else staged there.
    """
    directory = directory.resolve()
    if (directory / REGISTRY_FILE).exists():
        raise ShrekError(
            f"{directory} is already a SHREK registry",
            "use it as it is; 'shrek validate' checks it",
            ExitCode.CONFLICT,
        )
    directory.mkdir(parents=True, exist_ok=True)
    repo = GitRepo.init(directory)
    repo.check_identity()
    write_atomic(directory / REGISTRY_FILE, default_settings(repo.branch() or "main"))
    (directory / TAGS_DIR).mkdir(exist_ok=True)
    keep = directory / TAGS_DIR / ".gitkeep"
    keep.touch()
    write_atomic(directory / LEDGER_FILE, HEADER)
    gitignore = directory / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if f"{STATE_DIR}/" not in existing.splitlines():
        separator = "\n" if existing and not existing.endswith("\n") else ""
        write_atomic(gitignore, existing + separator + GITIGNORE)
    Registry.open(directory)  # the settings we wrote must themselves validate
    schemas = schema.export(directory / "schemas")  # for editors: see the files' first line
    written = [directory / REGISTRY_FILE, keep, directory / LEDGER_FILE, gitignore, *schemas]
    workflow = directory / ".github" / "workflows" / "shrek.yml"
    if directory == repo.root and not workflow.exists():  # GitHub reads only the top level
        workflow.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(workflow, WORKFLOW.read_text(encoding="utf-8"))
        written.append(workflow)
    repo.commit(
        written,
        "shrek: initialise production registry",
    )
    return directory
