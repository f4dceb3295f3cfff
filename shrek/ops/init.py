"""``shrek init``: make a directory a SHREK registry, committed and ready for tags."""

from __future__ import annotations

from pathlib import Path

from shrek import __version__
from shrek.core import schema
from shrek.core.allocations import ALLOCATIONS_FILE
from shrek.core.ledger import HEADER, LEDGER_FILE
from shrek.core.registry import REGISTRY_FILE, STATE_DIR, TAGS_DIR, Registry
from shrek.core.yamlio import loads, write_atomic
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo

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
    return next(iter(loads(settings)["builds"]))


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
    attributes = write_gitattributes(directory)
    Registry.open(directory)  # the settings we wrote must themselves validate
    schemas = schema.export(directory / "schemas")  # for editors: see the files' first line
    written = [directory / REGISTRY_FILE, keep, directory / LEDGER_FILE, gitignore, *schemas]
    written += [attributes] if attributes else []
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
