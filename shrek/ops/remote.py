"""A registry a team shares: the remote decides (DESIGN.md §7).

A registry lives in many clones and one remote. What must be unique — labels, submission
numbers, sequence ranges, output dataset names — is final only once it is on the remote, and
git gives the compare-and-swap for it: a push that is not a fast-forward is refused, and a ref
that exists cannot be created again. So:

- a **submission's allocation** is its journal commit (its ledger lines and records) on the
  production branch: it is pushed before anything reaches a backend; a refused push means
  another clone allocated first — the journal is taken back, this clone catches up, and the
  submission is planned again from the new state (:func:`push_journal`, :func:`take_back`);
- a **label** is claimed by creating ``refs/shrek/labels/<label>`` on the remote, at once,
  also from a feature branch — so two open pull requests never hold the same label
  (:func:`claim_label`);
- SHREK **publishes its own commits** (records, journals, ledger lines, lifecycle events: the
  commits carrying :data:`~shrek.git.PUBLISH_TRAILER`); a refused push is met by fetching and
  re-applying only those commits on the remote's tip, by rules that cannot lose anything
  (:func:`publish`); it never forces a push and never rewrites a user's commit;
- records of production go to the **production branch** whatever the user has checked out:
  from another branch, SHREK works in a detached work tree of its own
  (``.shrek/production``) and moves the branch itself (:func:`production_registry`).

A registry without a remote works as a single clone always did; the commands say so.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from shrek.core.allocations import ALLOCATIONS_FILE
from shrek.core.layout import LIFECYCLE_DIR, STATE_DIR, TAGS_DIR
from shrek.core.ledger import LEDGER_FILE
from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from shrek.gitconfig import remote_for

if TYPE_CHECKING:
    from shrek.git import GitRepo

CLAIMS = "refs/shrek/labels"
WORKTREE = "production"  # in .shrek/: SHREK's own work tree of the production branch
MAX_TRIES = 30  # rounds of fetch-and-retry before giving up on a remote that keeps moving


class Shared:
    """The production branch of one clone, and the remote it is shared through."""

    def __init__(
        self,
        registry: Registry,  # the registry in the checkout that holds the production branch
        repo: GitRepo,
        branch: str,
        remote: str | None,
        attached: bool,  # the production branch is checked out in ``repo``
    ) -> None:
        self.registry = registry
        self.repo = repo
        self.branch = branch
        self.remote = remote
        self.attached = attached
        self.notes: list[str] = []  # what publishing did, for the user

    @property
    def tracking(self) -> str:
        return f"refs/remotes/{self.remote}/{self.branch}"

    @property
    def local(self) -> str | None:
        return self.repo.rev(f"refs/heads/{self.branch}")

    def prefix(self) -> str:
        """The registry's directory in its repository ('' at the top, else ending in '/')."""
        return self.repo.prefix_of(self.registry.root)


def shared(registry: Registry, repo: GitRepo | None = None) -> Shared:
    """The user's checkout as a clone of the shared registry."""
    from shrek.git import GitRepo

    repo = repo or GitRepo(registry.root)
    branch = registry.production_branch
    attached = repo.branch() == branch
    return Shared(registry, repo, branch, repo.remote_for(branch), attached)


def describe(registry: Registry) -> str:
    """One line for ``tag show`` and ``status``: who decides what is unique (read by one
    ``git config`` when git can answer: :mod:`shrek.gitconfig`)."""
    known, remote = remote_for(str(registry.root), registry.production_branch)
    if not known:
        from shrek.git import GitRepo

        remote = GitRepo(registry.root).remote_for(registry.production_branch)
    if remote is None:
        return (
            "no remote: this clone is the registry's only source of truth (labels and numbers "
            "are unique within it)"
        )
    return (
        f"shared through '{remote}' ({registry.production_branch}): labels and numbers are "
        "final once they are on the remote"
    )


# -- the production branch against its remote ----------------------------------------------


class Position(NamedTuple):
    """Where the local production branch stands against the remote's (as last fetched)."""

    local: str | None
    remote: str | None
    mine: list[tuple[str, bool, str]]  # local commits the remote lacks: (sha, SHREK's, subject)
    theirs: int  # remote commits the local branch lacks

    @property
    def users(self) -> list[tuple[str, bool, str]]:
        return [c for c in self.mine if not c[1]]


def position(side: Shared) -> Position:
    local, remote = side.repo.revs(f"refs/heads/{side.branch}", side.tracking)
    if local is None:
        return Position(None, remote, [], 0)
    if remote is None:
        return Position(local, None, side.repo.commits(local), 0)
    if local == remote:
        return Position(local, remote, [], 0)
    mine, theirs = side.repo.divergence(local, remote)
    return Position(local, remote, mine, theirs)


def require_current(side: Shared) -> None:
    """Before a production submission: fetch, publish SHREK's own pending commits, and refuse
    (each with its own exit code and fix) a production branch that is behind the remote, has
    diverged from it, or carries the user's commits the remote has not seen."""
    if side.remote is None or not side.attached:
        return  # outside the production branch, submit's branch guard refuses, with its fix
    side.repo.fetch(side.remote, side.branch)
    where = position(side)
    if where.mine and not where.users:  # SHREK's own, left by an earlier command
        publish(side)
        where = position(side)
    remote_name = f"{side.remote}/{side.branch}"
    if where.users:
        first = where.users[0]
        raise ShrekError(
            f"{len(where.users)} commit(s) of this clone are not on the remote {remote_name} "
            f"(the first: {first[0][:12]} {first[2]!r})",
            f"git push first (git push {side.remote} {side.branch}, or merge a pull request), "
            "so the submission's commit can be found by everyone; --test submits anyway",
            ExitCode.NOT_PUSHED,
        )
    if where.theirs:
        raise ShrekError(
            f"the production branch '{side.branch}' is {where.theirs} commit(s) behind "
            f"{remote_name}: this clone does not know what the team allocated since",
            f"git pull --ff-only {side.remote} {side.branch}, look at what came in, then "
            "submit again; --test submits offline from here",
            ExitCode.OUT_OF_DATE,
        )


# -- publishing SHREK's own commits -----------------------------------------------------------


def publish(side: Shared) -> bool:
    """Push SHREK's own commits of the production branch to the remote (never forced). A push
    refused because the remote moved is met by fetching and re-applying only SHREK's own
    commits on the remote's tip (:func:`_replay`). True when the remote holds them all.

    A remote that cannot be reached, or the user's own unpushed commits underneath SHREK's, leave
    SHREK's commits local (a note says so; the next command publishes them)."""
    if side.remote is None:
        return True
    for _attempt in range(MAX_TRIES):
        if side.repo.rev(side.tracking) is None:
            try:
                side.repo.fetch(side.remote, side.branch)
            except ShrekError:
                side.notes.append(f"not published: {side.remote} cannot be reached")
                return False
        where = position(side)
        if not where.mine:
            return True
        if where.users:
            message = (
                f"SHREK's records are committed but not published: {len(where.users)} commit(s) "
                f"of yours underneath are not on {side.remote} (git push them; SHREK publishes "
                "with its next command)"
            )
            side.notes.append(message)
            return False
        assert where.local is not None
        try:
            pushed = side.repo.push(side.remote, where.local, f"refs/heads/{side.branch}")
        except ShrekError as error:
            if error.code != ExitCode.REMOTE:
                raise
            side.notes.append(f"not published: {error.message}")
            return False
        if pushed:
            side.repo.update_ref(side.tracking, where.local)
            return True
        tip = side.repo.fetch(side.remote, side.branch)
        if tip is None:
            raise ShrekError(
                f"the branch '{side.branch}' is gone from the remote '{side.remote}'",
                f"restore it there (git push {side.remote} {side.branch}); SHREK never creates "
                "or forces a production branch",
                ExitCode.REMOTE,
            )
        if _drop_unsent_journal(side, where):
            continue
        _replay(side, where, tip)
    raise ShrekError(
        f"could not publish to {side.remote} after {MAX_TRIES} tries: the remote kept moving",
        "run the command again (SHREK's commits are kept and published by the next command)",
        ExitCode.REMOTE,
    )


def publish_commits(registry: Registry, repo: GitRepo | None = None) -> None:
    """After a command committed SHREK's own records: publish them, and tell the user (through
    the registry's notices) when they stay local for now."""
    side = shared(registry, repo)
    if side.remote is None:
        return
    if not side.attached and not side.repo.carries:
        # the user has another branch checked out: publishing may re-apply commits and write
        # READMEs, which happens in SHREK's own work tree of the production branch, never here
        if not position(side).mine:
            return
        _, side = production_registry(registry)
    publish(side)
    for note in side.notes:
        registry.notify(f"shrek: {note}")


JOURNAL_VERB = "journal submission of"  # how submit's journal commit says what it is
JOURNAL_SUBJECT = f"shrek: {JOURNAL_VERB}"


def _drop_unsent_journal(side: Shared, where: Position) -> bool:
    """A production journal that never reached the remote (the command was killed before its
    push) was never sent to a backend either — the hand-over waits for the push — so when the
    remote has moved meanwhile it is taken back rather than re-applied: its numbers may be
    another clone's by now. True when one was dropped."""
    last_sha, _own, subject = where.mine[-1]
    if not subject.startswith(JOURNAL_SUBJECT) or "[TEST]" in subject:
        if any(c[2].startswith(JOURNAL_SUBJECT) and "[TEST]" not in c[2] for c in where.mine):
            raise ShrekError(
                "an unpublished production journal lies under later commits of SHREK's, and the "
                f"remote {side.remote}/{side.branch} has moved: its numbers may be taken",
                "run 'shrek status' (it closes the journal's records), then 'shrek verify' "
                "names any double and 'shrek void' repairs it",
                ExitCode.OUT_OF_DATE,
            )
        return False
    _move_branch(side, where.local or "", f"{last_sha}^")
    side.notes.append(
        f"took back an unpublished journal ({subject.removeprefix('shrek: ')}): it was never "
        "sent to a backend, and the remote has moved since; submit again"
    )
    return True


def _replay(side: Shared, where: Position, tip: str) -> None:
    """Re-apply SHREK's own local commits on the remote's ``tip``, one by one, and move the
    production branch (and the checkout, if it is checked out) there.

    Rules, none of which can lose a line another clone wrote: a ledger keeps the remote's lines
    and appends ours; a record both sides changed keeps the remote's version (both were
    refreshed from the same backend; the next ``status`` refreshes it again); a lifecycle event
    whose number the remote took is renumbered; a tag's README is written again from the result.
    Anything else both sides changed stops the command, naming the file."""
    repo, prefix = side.repo, side.prefix()
    base = tip
    readmes: set[str] = set()
    for sha, _own, _subject in where.mine:
        changes: dict[str, bytes | None] = {}
        for _status, path in repo.changes(f"{sha}^", sha):
            relative = path[len(prefix) :] if path.startswith(prefix) else path
            ours, before = repo.content(sha, path), repo.content(f"{sha}^", path)
            theirs = repo.content(base, path)
            if fnmatch(relative, f"{TAGS_DIR}/*/README.md"):
                readmes.add(relative.split("/")[1])
                continue
            if relative in (LEDGER_FILE, ALLOCATIONS_FILE):
                changes[path] = _union(theirs, before, ours)
            elif theirs in (before, ours):
                changes[path] = ours
            elif fnmatch(relative, f"{TAGS_DIR}/*/submissions/*/*.yaml") and before is not None:
                continue  # both refreshed it from its backend: the remote's stands
            elif fnmatch(relative, f"{TAGS_DIR}/*/{LIFECYCLE_DIR}/*.yaml") and before is None:
                changes[_free_event(repo, base, path, changes)] = ours
            else:
                raise ShrekError(
                    f"cannot publish SHREK's commit {sha[:12]}: {relative} was changed on the "
                    f"remote too ({side.remote}/{side.branch})",
                    f"look at both versions (git diff {sha[:12]} {side.remote}/{side.branch} -- "
                    f"{path}); SHREK's commits stay local and nothing was pushed",
                    ExitCode.OUT_OF_DATE,
                )
        if changes:
            base = repo.commit_tree(base, changes, repo.message(sha))
    _move_branch(side, where.local or "", base)
    for name in sorted(readmes):
        _refresh_readme(side, name)


def _union(theirs: bytes | None, before: bytes | None, ours: bytes | None) -> bytes:
    """A ledger: the remote's lines, then the lines this clone appended that it lacks."""
    kept = (theirs or b"").decode("utf-8")
    had = set((before or b"").decode("utf-8").splitlines())
    present = set(kept.splitlines())
    added = [
        line
        for line in (ours or b"").decode("utf-8").splitlines()
        if line not in had and line not in present
    ]
    if kept and not kept.endswith("\n"):
        kept += "\n"
    return (kept + "".join(line + "\n" for line in added)).encode("utf-8")


def _free_event(repo: GitRepo, base: str, path: str, changes: dict[str, bytes | None]) -> str:
    """The next free event file name in ``path``'s directory at ``base``."""
    directory = path.rsplit("/", 1)[0]
    taken = {p.rsplit("/", 1)[1] for _, p, _ in repo.tree_blobs(base, [directory])}
    taken |= {p.rsplit("/", 1)[1] for p in changes if p.startswith(directory + "/")}
    numbers = [int(name[:-5]) for name in taken if re.fullmatch(r"\d+\.yaml", name)]
    return f"{directory}/{max(numbers, default=0) + 1:04d}.yaml"


def _move_branch(side: Shared, old: str, new: str) -> None:
    """The production branch to ``new``: the checkout follows where it holds the branch (or
    is SHREK's own work tree); a user's checkout of another branch is left as it is."""
    if side.attached:
        side.repo.reset_keep(new)
    else:
        side.repo.update_ref(f"refs/heads/{side.branch}", new, old)
        if side.repo.carries:  # SHREK's own work tree: it follows the branch
            side.repo.ensure_worktree(side.repo.root, new)


def _refresh_readme(side: Shared, name: str) -> None:
    from shrek.ops.readme import write_readme

    if not side.registry.tag_dir(name).is_dir():
        return
    path = write_readme(side.registry, name)
    if side.repo.dirty_paths([path]):
        side.repo.commit([path], f"shrek: README of {name} after publishing", publish=True)


# -- allocations through the remote ---------------------------------------------------------


def push_journal(side: Shared, journal: str) -> bool:
    """Offer the journal commit (a submission's allocation) to the remote: True when it is
    there; False when another clone allocated first (the caller takes it back and plans
    again)."""
    if side.remote is None:
        return True
    if not side.repo.push(side.remote, journal, f"refs/heads/{side.branch}"):
        return False
    side.repo.update_ref(side.tracking, journal)
    return True


def take_back(side: Shared, journal: str) -> None:
    """Undo a journal the remote refused (nothing was sent anywhere), then catch up with the
    remote so the next plan starts from what the team allocated."""
    side.repo.reset_keep(f"{journal}^")
    tip = side.repo.fetch(side.remote or "", side.branch)
    if tip and side.repo.is_ancestor(f"{journal}^", tip):
        side.repo.reset_keep(tip)


def claimed_labels(side: Shared) -> dict[str, str]:
    """Labels claimed on the remote: label -> its claim's SHA (empty without a remote)."""
    if side.remote is None:
        return {}
    refs = side.repo.remote_refs(side.remote, f"{CLAIMS}/*")
    return {name.rsplit("/", 1)[1]: sha for name, sha in refs.items()}


def remote_ledger(side: Shared) -> str:
    """The label ledger on the remote's production branch (fetched now)."""
    if side.remote is None:
        return ""
    tip = side.repo.fetch(side.remote, side.branch)
    if tip is None:
        return ""
    data = side.repo.content(tip, side.prefix() + LEDGER_FILE)
    return data.decode("utf-8", errors="replace") if data else ""


def claim_label(side: Shared, label: str, tag: str, by: str) -> bool:
    """Create ``refs/shrek/labels/<label>`` on the remote: True when this clone got it, False
    when another had claimed it. The claim is a commit of its own (an empty tree) whose
    message says who took the label, for which tag, when."""
    if side.remote is None:
        return True
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = os.urandom(16).hex()  # two claims of one second are two commits
    claim = side.repo.claim_commit(
        f"shrek: claim label {label} for {tag}\n\nby: {by}\nat: {now}\nnonce: {nonce}\n"
    )
    return side.repo.push(side.remote, claim, f"{CLAIMS}/{label}")


# -- the production branch, whatever is checked out ----------------------------------------


def production_registry(registry: Registry) -> tuple[Registry, Shared]:
    """The registry as the production branch holds it, with the clone's working state.

    On the production branch: the registry itself. Elsewhere (a feature branch, a detached
    HEAD, mid-rebase): SHREK's own detached work tree of the production branch at
    ``.shrek/production``, whose commits move the branch — so records never land on the
    user's branch and the user's checkout is left exactly as it was."""
    side = shared(registry)
    if side.attached or side.local is None:
        return registry, side
    known = _VIEWS.get(registry.root)
    if known is not None and known[1].repo.head() == side.local:
        return known  # this process made it: it is where the branch is
    directory = registry.root / STATE_DIR / WORKTREE
    worktree = side.repo.ensure_worktree(directory, side.local)
    worktree.carries = side.branch
    prefix = side.prefix()
    root = directory / prefix if prefix else directory
    view = Registry.open(root)
    view.state_root = registry.state_dir
    view.notify = registry.notify
    _VIEWS[registry.root] = (view, Shared(view, worktree, side.branch, side.remote, False))
    return _VIEWS[registry.root]


# The production views made by this process, by the root of the checkout they serve.
_VIEWS: dict[Path, tuple[Registry, Shared]] = {}
