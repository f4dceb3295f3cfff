"""``shrek init``: make a directory a SHREK registry, committed and ready for tags."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from shrek import __version__
from shrek.core import schema
from shrek.core.allocations import ALLOCATIONS_FILE
from shrek.core.layout import REGISTRY_FILE, STATE_DIR, TAGS_DIR
from shrek.core.ledger import HEADER, LEDGER_FILE
from shrek.core.registry import Registry
from shrek.core.yamlio import loads, write_atomic
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.interrupts import no_interrupt
from shrek.ops.distribution import InstallSource, install_source

DEFAULTS = Path(__file__).resolve().parent.parent / "defaults"
DEFAULT_SETTINGS = DEFAULTS / "shrek.yaml"
WORKFLOW = DEFAULTS / "github-workflow.yml"

GITIGNORE = f"""\
# SHREK's local working state (catalogue, locks, job runs): never committed.
{STATE_DIR}/
"""


# The ledgers merge line by line: two branches that each appended lines keep both sides' lines
# (allocations are unique by the remote's compare-and-swap; 'shrek verify' names any double).
GITATTRIBUTES_LINES = (
    f"{LEDGER_FILE} merge=union",
    f"{ALLOCATIONS_FILE} merge=union",
)


def write_gitattributes(directory: Path) -> Path | None:
    """Add the ledgers' merge rule to the registry's ``.gitattributes``; None when it has it."""
    path = directory / ".gitattributes"
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    missing = [line for line in GITATTRIBUTES_LINES if line not in existing.splitlines()]
    if not missing:
        return None
    separator = "\n" if existing and not existing.endswith("\n") else ""
    comment = "# SHREK: the ledgers are append-only and merge line by line\n"
    write_atomic(path, existing + separator + comment + "\n".join(missing) + "\n")
    return path


def default_settings(branch: str = "main", install: InstallSource | None = None) -> str:
    """The default ``shrek.yaml``, recording the SHREK that created the registry (its version,
    and the pip requirement that installs exactly it) and its production branch (the branch it
    was created on).

    The pull-request workflow installs that requirement, so CI checks tags with the SHREK the
    registry is managed with, not whatever is newest.
    """
    install = install or install_source()
    text = DEFAULT_SETTINGS.read_text(encoding="utf-8")
    if install.requirement:
        how = (
            "# What its pull-request check installs (pip install): exactly the SHREK that made\n"
            "# the registry. Raise both in a reviewed commit to upgrade.\n"
        )
    else:
        unknown = (
            f"What its pull-request check installs (pip install) is not known: {install.why_not}."
        )
        how = "".join(f"# {line}\n" for line in textwrap.wrap(unknown, 94)) + (
            '# Set it before the first pull request, e.g. "sphenix-shrek==VERSION" or\n'
            '# "sphenix-shrek @ git+https://github.com/BNLNPPS/shrek@COMMIT".\n'
        )
    return text + (
        "\n# The SHREK version this registry is managed with.\n"
        f'shrek_version: "{__version__}"\n'
        f"{how}"
        f'shrek_install: "{install.requirement}"\n'
        "# Production submissions are made from this branch only (--test may run anywhere).\n"
        f"production_branch: {branch}\n"
        "# The build 'shrek tag new' uses when no --build is given.\n"
        f"default_build: {_first_build(text)}\n"
    )


def workflow_text(branch: str) -> str:
    """The pull-request workflow, its pushes on the registry's production branch."""
    text = WORKFLOW.read_text(encoding="utf-8")
    return text.replace("branches: [main]", f"branches: [{json.dumps(branch)}]")


def _first_build(settings: str) -> str:
    """The first build the default settings list (the default of 'tag new')."""
    return next(iter(loads(settings)["builds"]))


def init_registry(directory: Path, install: InstallSource | None = None) -> Path:
    """Create a registry in ``directory`` (a git repository is initialised if needed).

    Refuses a directory that already is a registry (its ``shrek.yaml`` committed); an existing
    git repository is reused, and the registry files are committed without touching anything
    else staged there. An init stopped before its commit left ``shrek.yaml`` uncommitted: run
    again, it writes the same files again and commits them. ``install``: what CI installs
    (default: this SHREK, as its distribution's metadata says).
    """
    directory = directory.resolve()
    settings = directory / REGISTRY_FILE
    outer = next((d for d in directory.parents if (d / REGISTRY_FILE).is_file()), None)
    if outer is not None:
        raise ShrekError(
            f"{directory} is inside the registry {outer}: a registry in it would be committed "
            f"into {outer}'s repository, whose validate would then fail",
            "create the registry outside any other (e.g. shrek init ../my-registry); a registry "
            "holds many tags, so one registry is enough for a production campaign",
            ExitCode.CONFLICT,
        )
    if settings.exists() and not (directory / ".git").exists():
        raise ShrekError(
            f"{directory} has a {REGISTRY_FILE} but is no git repository",
            "a registry is a git repository: 'git init' it and commit its files",
            ExitCode.CONFLICT,
        )
    directory.mkdir(parents=True, exist_ok=True)
    repo = GitRepo.init(directory)
    if settings.exists() and repo.has_commits() and repo.file_at("HEAD", settings) is not None:
        raise ShrekError(
            f"{directory} is already a SHREK registry",
            "use it as it is; 'shrek validate' checks it",
            ExitCode.CONFLICT,
        )
    branch = repo.branch() or "main"
    text = default_settings(branch, install)
    if settings.exists() and settings.read_text(encoding="utf-8") != text:
        raise ShrekError(
            f"{settings} exists, uncommitted, and is not the one 'shrek init' writes",
            f"commit it if {directory} is a registry already, or move it aside",
            ExitCode.CONFLICT,
        )
    repo.check_identity()
    write_atomic(settings, text)
    (directory / TAGS_DIR).mkdir(exist_ok=True)
    keep = directory / TAGS_DIR / ".gitkeep"
    keep.touch()
    write_atomic(directory / LEDGER_FILE, HEADER)
    gitignore = directory / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if f"{STATE_DIR}/" not in existing.splitlines():
        separator = "\n" if existing and not existing.endswith("\n") else ""
        write_atomic(gitignore, existing + separator + GITIGNORE)
    write_gitattributes(directory)
    attributes = directory / ".gitattributes"  # committed even when a stopped init wrote it
    Registry.open(directory)  # the settings we wrote must themselves validate
    schemas = schema.export(directory / "schemas")  # for editors: see the files' first line
    written = [directory / REGISTRY_FILE, keep, directory / LEDGER_FILE, gitignore, *schemas]
    written.append(attributes)
    workflow = directory / ".github" / "workflows" / "shrek.yml"
    ours = workflow_text(branch)
    if directory == repo.root and not workflow.exists():  # GitHub reads only the top level
        workflow.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(workflow, ours)
    if workflow.exists() and workflow.read_text(encoding="utf-8") == ours:
        written.append(workflow)  # (a workflow of the repository's own is left alone)
    with no_interrupt():  # a Ctrl-C lands after the commit, not in it
        repo.commit(written, "shrek: initialise production registry")
    return directory


def upgrade_registry(registry: Registry) -> list[str]:
    """Bring an existing registry up to team use: the ledgers' merge rule in
    ``.gitattributes`` (committed), and every label of the ledger claimed on the remote (so
    no clone can allocate it again). Returns what was done; running it twice does nothing."""
    from shrek.core.ledger import read_ledger
    from shrek.ops import remote

    repo = GitRepo(registry.root)
    repo.check_identity()
    done = []
    with registry.lock("shrek upgrade"):
        attributes = write_gitattributes(registry.root)
        if attributes is not None:
            repo.commit([attributes], "shrek: the ledgers merge line by line (.gitattributes)")
            done.append("wrote .gitattributes: the ledgers merge line by line")
        side = remote.shared(registry, repo)
        if side.remote is None:
            done.append("no remote: nothing to claim (this clone is the registry)")
            return done
        claimed = remote.claimed_labels(side)
        entries, _ = read_ledger(registry.root)
        new = 0
        for entry in entries:
            if entry.label not in claimed and remote.claim_label(
                side, entry.label, entry.tag, entry.by
            ):
                new += 1
        done.append(f"claimed {new} label(s) of the ledger on {side.remote}")
    return done
