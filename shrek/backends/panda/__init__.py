"""The PanDA backend: submit, track, retry and kill productions through panda-client.

The backend itself is in :mod:`.backend`; every rendering carries PanDA's description of the
workflow (:mod:`.describe`: its CWL and prun lines), whichever backend runs it, and each
panda-client call runs as ``python -m shrek.backends.panda.call``. This package imports
none of them eagerly: both of those import the package first, and a local submit, or one
panda-client call, loading the whole backend (its credentials, its client calls) paid 3 ms
for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shrek.backends.panda.backend import PandaBackend

__all__ = ["PandaBackend"]


def __getattr__(name: str) -> Any:
    if name == "PandaBackend":
        from shrek.backends.panda.backend import PandaBackend

        return PandaBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
