"""One module per use case: takes the lock, composes core, git, backends and catalogues, and
returns typed results. Prints nothing: progress and messages go through callbacks."""
