"""The registry: find it, read its settings, list and resolve its tags.

A registry is a directory (inside a git work tree) holding ``shrek.yaml``, ``tags/`` and the
label ledger. Every command finds it from the current directory upwards, or from ``--registry``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path
from typing import Any

from shrek.core import schema
from shrek.core.labels import LabelError, parse_label
from shrek.core.layout import JOB_DIR, REGISTRY_FILE, STATE_DIR, TAGS_DIR
from shrek.core.suggest import close_matches
from shrek.core.yamlio import Document, load_yaml, write_atomic
from shrek.errors import ExitCode, Finding, ShrekError, sort_findings

RUNS_DIR = "runs"  # in STATE_DIR: one directory per submission run (its rendering, its jobs)
STORE_DIR = "store"  # in STATE_DIR: the local outputs, one directory per dataset


SETTINGS_CHECKED = "cache/settings.sha256"  # in .shrek/: the shrek.yaml last found valid


def _settings_digest(text: str) -> str:
    """The content of shrek.yaml with the SHREK version and schema that judged it."""
    judged = f"{schema.fingerprint('registry')}\0{SETTINGS_CHECKS}\0{text}"
    return hashlib.sha256(judged.encode()).hexdigest()


SETTINGS_CHECKS = 2  # 2: build set-ups are checked for credentials


def _credential_findings(document: Document) -> list[Finding]:
    """A build's set-up is copied into every freeze.yaml and job: a token exported there
    (``export PANDA_AUTH_ID_TOKEN=...``) would be committed with each."""
    from shrek.redact import find_credentials  # only when shrek.yaml is checked afresh

    findings = []
    builds = document.data.get("builds") if isinstance(document.data, dict) else None
    for build, settings in (builds or {}).items():
        setup = settings.get("setup") if isinstance(settings, dict) else None
        for found in find_credentials(str(setup or ""))[:1]:
            line, column = document.locate_text(
                ["builds", build, "setup"], str(setup)[found.start : found.end][:40]
            )
            findings.append(
                Finding(
                    document.file,
                    line,
                    column,
                    f"the set-up of build '{build}' holds a credential ({found.kind}); it would "
                    "be copied into every freeze.yaml and job",
                    "remove it: jobs get their credentials from the site or the backend "
                    "(PanDA's own token store), never from the registry",
                )
            )
    return findings


def _known_valid(root: Path, text: str) -> bool:
    """Whether this exact shrek.yaml passed its schema before (no schema library needed)."""
    try:
        remembered = (root / STATE_DIR / SETTINGS_CHECKED).read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return remembered == _settings_digest(text)


def _remember_valid(root: Path, text: str) -> None:
    with suppress(OSError):  # a read-only checkout checks every time
        write_atomic(root / STATE_DIR / SETTINGS_CHECKED, _settings_digest(text) + "\n")


def _quiet(_message: str) -> None:
    """Where a registry's messages go until a command line says otherwise."""


class Registry:
    """An open registry: its root directory and its ``shrek.yaml``."""

    def __init__(self, root: Path, document: Document) -> None:
        self.root = root
        self.document = document
        # Where the registry's messages go (a second command waiting for the lock): the
        # command line sets it; the core itself prints nothing.
        self.notify: Callable[[str], None] = _quiet
        # The clone's working state when the registry is read from SHREK's own work tree of
        # the production branch (shrek.ops.remote): runs, store, catalogue and lock stay the
        # clone's.
        self.state_root: Path | None = None

    def __repr__(self) -> str:
        return f"Registry({self.root.as_posix()!r})"

    # -- finding and opening --------------------------------------------------------------

    @classmethod
    def find(cls, start: Path | None = None) -> Registry:
        """The registry containing ``start`` (default: the current directory)."""
        here = (start or Path.cwd()).resolve()
        for directory in (here, *here.parents):
            if (directory / REGISTRY_FILE).is_file():
                return cls.open(directory)
        raise ShrekError(
            f"not inside a SHREK registry (no {REGISTRY_FILE} in {here} or any parent)",
            "run 'shrek init' to create one, or pass --registry DIR",
            ExitCode.NO_REGISTRY,
        )

    @classmethod
    def open(cls, root: Path) -> Registry:
        """Open the registry at ``root``; an invalid ``shrek.yaml`` is refused with findings."""
        root = root.resolve()
        if not (root / REGISTRY_FILE).is_file():
            raise ShrekError(
                f"{root} is not a SHREK registry (it has no {REGISTRY_FILE})",
                "run 'shrek init' there, or point --registry at a registry",
                ExitCode.NO_REGISTRY,
            )
        document, findings = load_yaml(root / REGISTRY_FILE, REGISTRY_FILE)
        if document is not None and not findings and not _known_valid(root, document.text):
            findings = schema.check(document, "registry") or _credential_findings(document)
            if not findings:
                _remember_valid(root, document.text)
        if findings or document is None:
            raise ShrekError(
                f"{REGISTRY_FILE} is invalid",
                f"correct {REGISTRY_FILE} as shown above",
                ExitCode.INVALID,
                sort_findings(findings),
            )
        return cls(root, document)

    # -- settings ---------------------------------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        return self.document.data

    @property
    def prefix(self) -> str:
        return str(self.settings["label_prefix"])

    @property
    def production_branch(self) -> str:
        """The branch production submissions are made from."""
        return str(self.settings.get("production_branch") or "main")

    @property
    def default_build(self) -> str | None:
        """The build 'shrek tag new' uses when none is given."""
        value = self.settings.get("default_build")
        return str(value) if value else None

    @property
    def shellcheck_fails_on(self) -> str:
        """The least severe ShellCheck level in a payload that fails ``render --check``."""
        return str((self.settings.get("checks") or {}).get("shellcheck", "error"))

    @property
    def builds(self) -> dict[str, dict[str, Any]]:
        return dict(self.settings["builds"])

    # -- paths -----------------------------------------------------------------------------

    @cached_property  # asked for every tag of every command: one Path, made once
    def tags_dir(self) -> Path:
        return self.root / TAGS_DIR

    @property
    def state_dir(self) -> Path:
        return self.state_root or self.root / STATE_DIR

    def run_dir(self, run_id: str) -> Path:
        """Where one submission run keeps its rendering and (local backend) its jobs."""
        return self.state_dir / RUNS_DIR / run_id

    @property
    def store_dir(self) -> Path:
        """Where the local backend keeps the datasets it wrote, one directory each."""
        return self.state_dir / STORE_DIR

    def tag_dir(self, name: str) -> Path:
        return self.tags_dir / name

    def relative(self, path: Path) -> str:
        """``path`` relative to the registry root, in posix spelling (for messages). A path
        already spelled below the root (every path SHREK builds from it) is not resolved:
        ``status`` names a thousand records, and resolving each costs a stat per component."""
        if path.is_absolute() and ".." not in path.parts:
            try:
                return path.relative_to(self.root).as_posix()
            except ValueError:
                pass
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    # -- tags --------------------------------------------------------------------------------

    def tag_names(self) -> list[str]:
        """Names of all tag directories, in label order."""
        if not self.tags_dir.is_dir():
            return []
        names = [
            entry.name
            for entry in os.scandir(self.tags_dir)
            if entry.is_dir() and not entry.name.startswith(".")
        ]
        return sorted(names, key=self._order)

    def _order(self, name: str) -> tuple[Any, ...]:
        label, _, build = name.partition("-")
        try:
            return (0, *parse_label(label, self.prefix).sort_key(), build)
        except LabelError:
            return (1, name)

    def resolve(self, name: str) -> str:
        """The tag directory named by ``name``: a label (sP22aa), a full name (sP22aa-mdc2.7),
        or a path to the tag directory. Unknown and ambiguous names are refused with the
        closest matches."""
        text = name.strip().rstrip("/")
        if text.startswith(f"{TAGS_DIR}/"):
            text = text[len(TAGS_DIR) + 1 :]
        names = self.tag_names()
        if text in names:
            return text
        candidates = [n for n in names if n.partition("-")[0] == text]
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise ShrekError(
                f"'{name}' is ambiguous: it matches " + ", ".join(candidates),
                "give the full tag name, e.g. " + candidates[0],
                ExitCode.NOT_FOUND,
            )
        labels = [n.partition("-")[0] for n in names]
        close = close_matches(text, names + labels, n=3, cutoff=0.6)
        hint = (
            ("did you mean " + ", ".join(dict.fromkeys(close)) + "?")
            if close
            else ("'shrek tag list' shows the tags" if names else "create one with 'shrek tag new'")
        )
        raise ShrekError(f"no tag '{name}' in this registry", hint, ExitCode.NOT_FOUND)

    def split_target(self, target: str) -> tuple[str, str | None]:
        """``sP22aa/hfprod-pass1`` -> (tag directory name, ``hfprod-pass1``); ``sP22aa`` ->
        (tag directory name, None). The tag part resolves as :meth:`resolve` does."""
        text = target.strip().rstrip("/")
        if text.startswith(f"{TAGS_DIR}/"):
            text = text[len(TAGS_DIR) + 1 :]
        name, _, step = text.partition("/")
        if step.startswith(f"{JOB_DIR}/"):  # tags/sP22aa-mdc2.7/job/hfprod-pass1.yaml
            step = step[len(JOB_DIR) + 1 :].removesuffix(".yaml")
        return self.resolve(name), (step or None)

    # -- serialising writers -------------------------------------------------------------

    @contextmanager
    def lock(self, what: str) -> Iterator[None]:
        """Serialise commands that change the registry (allocations, commits, submissions).

        A second ``shrek`` process waits here, saying so once, instead of racing the first.
        """
        self.state_dir.mkdir(exist_ok=True)
        with open(self.state_dir / "lock", "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another shrek command"
                self.notify(f"shrek: waiting for {holder} to finish ...")
                fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            handle.truncate()
            handle.write(f"'{what}' (pid {os.getpid()}, since {time.strftime('%H:%M:%S')})\n")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)
