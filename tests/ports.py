"""A free TCP port on 127.0.0.1, for the real servers the tests start (git daemon, git
http-backend, Rucio, PostgreSQL and panda-server)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice): the server binds it next."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
