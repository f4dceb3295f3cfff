"""A repository's git configuration read by one ``git config``: which remote a branch is
shared through, and this clone's identity.

``shrek status`` needs both on every run: it says who decides what is unique ("shared through
'origin'", or "no remote"), and follows only the local runs this clone started. It reads them
with one process each, from any directory of the work tree, without opening a
:class:`shrek.git.GitRepo` (which asks git for the work tree first). ``GitRepo`` applies the
same rules (:func:`remote_in`, :data:`CLONE_KEY`).
"""

from __future__ import annotations

import subprocess

# The repository's own configuration (and the files it includes): where remotes, upstreams and
# the clone's identity live; outside a repository git refuses (exit 128) instead of answering
# from the user's global settings.
LOCAL = ("config", "--local", "--includes")


def chosen_remote(names: list[str], configured: str) -> str | None:
    """The remote a branch is shared through: its configured upstream (``branch.B.remote``),
    else ``origin``, else the only remote; None when there is none (a one-clone registry) or
    no way to choose."""
    if not names:
        return None
    if configured in names:
        return configured
    return "origin" if "origin" in names else (names[0] if len(names) == 1 else None)


# The keys that name remotes and upstreams (one ``git config --get-regexp`` reads them all).
REMOTE_KEYS = r"^(remote|branch)\."


def _settings(listing: str) -> list[tuple[str, str, str, str]]:
    """``git config --null --get-regexp`` output as (section, subsection, variable, value)."""
    found = []
    for entry in listing.split("\0"):
        key, _, value = entry.partition("\n")
        section, _, rest = key.partition(".")
        subsection, _, variable = rest.rpartition(".")
        found.append((section, subsection, variable, value))
    return found


def remote_names(listing: str) -> list[str]:
    """The remotes, in configuration order, from a listing of :data:`REMOTE_KEYS`."""
    names: list[str] = []
    for section, subsection, _, _ in _settings(listing):
        if section == "remote" and subsection and subsection not in names:
            names.append(subsection)
    return names


def remote_in(listing: str, branch: str) -> str | None:
    """:func:`chosen_remote` from ``git config --null --get-regexp`` of :data:`REMOTE_KEYS`."""
    configured = ""
    for section, subsection, variable, value in _settings(listing):
        if section == "branch" and subsection == branch and variable == "remote":
            configured = value
    return chosen_remote(remote_names(listing), configured)


def remote_for(root: str, branch: str) -> tuple[bool, str | None]:
    """``(True, remote)`` for the repository containing ``root``, read by one ``git config``;
    ``(False, None)`` when git could not answer (no repository, no git): the caller asks
    :class:`shrek.git.GitRepo`, which says why."""
    try:
        done = subprocess.run(
            ["git", "-C", root, *LOCAL, "--null", "--get-regexp", REMOTE_KEYS],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False, None
    if done.returncode not in (0, 1):  # 1: no such key (no remote, no branch settings)
        return False, None
    return True, remote_in(done.stdout.decode("utf-8", "replace"), branch)


CLONE_KEY = ("shrek", "clone")  # section and name of this clone's identity in .git/config


# Within one process: a clone's identity, once it has one, by the root it was asked for (a
# submit opens the backend for its refresh, its plan and its README: one git process each).
# It never changes once made: only an empty answer (none yet) is asked again.
_CLONE_IDS: dict[str, str] = {}


def clone_id(root: str) -> str:
    """This clone's identity as its configuration holds it ('' when it has none yet, or git
    could not answer: :meth:`shrek.git.GitRepo.clone_id` makes one)."""
    if root in _CLONE_IDS:
        return _CLONE_IDS[root]
    try:
        done = subprocess.run(
            ["git", "-C", root, *LOCAL, "--get", ".".join(CLONE_KEY)],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    known = done.stdout.decode("utf-8", "replace").strip() if done.returncode == 0 else ""
    if known:
        _CLONE_IDS[root] = known
    return known
