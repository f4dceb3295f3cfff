"""The outcome of validating tags: which were checked, every finding, the tags that loaded.

Its own small module so that a validation answered from the cache (``shrek validate`` with
nothing changed) needs none of the checking machinery, not even its imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from shrek.errors import Finding

if TYPE_CHECKING:
    from shrek.core.model import Tag


class Report(NamedTuple):
    checked: list[str]
    findings: list[Finding]
    tags: dict[str, Tag]  # the tags that loaded, for reuse

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "errors": len(self.findings),
            "findings": [f.as_dict() for f in self.findings],
        }
