"""Poll a running submission's steps until every one has ended (``shrek submit`` without
``--detach``). The command line shows what each poll returns; the polling lives here, where
the backends are, so the CLI never calls a backend itself."""

from __future__ import annotations

import time
from collections.abc import Iterator

from shrek.backends import StatusUpdate, Submission
from shrek.backends.factory import get_backend
from shrek.core.records import FINAL, Record


class Watch:
    """One submission's steps, polled through the backend that runs them."""

    def __init__(
        self, submission: Submission, records: list[Record], interval: float = 0.25
    ) -> None:
        self.submission = submission
        self.records = records
        self.interval = interval
        self.backend = get_backend(submission.registry, records[0].backend)

    def updates(self) -> Iterator[dict[str, StatusUpdate]]:
        """Each step's state, every ``interval`` seconds, until every step has ended (the
        last yield is the final states)."""
        while True:
            found = {r.step: self.backend.refresh(r.data) for r in self.records}
            yield found
            if all(u.state in FINAL for u in found.values()):
                return
            time.sleep(self.interval)

    def kill(self) -> str:
        """Stop the submission's jobs (Ctrl-C while following): what the backend said."""
        return self.backend.kill(self.records[0].data)
