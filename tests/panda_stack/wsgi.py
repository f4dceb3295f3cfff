"""What Apache does in front of a real PanDA server, for gunicorn on 127.0.0.1.

Runs inside the PanDA environment (``.venv-panda``), not SHREK's. It routes on the path the
server expects in ``SCRIPT_NAME`` (without it every call is "method is forbidden"), gives each
request the identity Apache's mod_ssl/mod_gridsite would (for a request with a token, a
certificate DN whose CN is "Jane Doe" and nickname ``jdoe``; see SERVICE_DN for the others), and
serves ``/cache/<file>`` (sandboxes) from the server's cache directory, as PanDA's httpd
configuration does.
"""

from __future__ import annotations

import os
from pathlib import Path

from pandaserver.server.panda import application as panda_application

USER_DN = "/DC=test/CN=Jane Doe/CN=nickname:jdoe"
# The service's own certificate: the test pilot and the server calling itself (sandbox
# registration) send no token; Apache would see their host certificates. It is in
# production_dns, since the pilot API and those self-calls need the production role.
SERVICE_DN = "/DC=test/CN=Test Service"
CACHE = Path(os.environ["PANDA_TEST_CACHE_DIR"])


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/cache/"):
        name = path.removeprefix("/cache/")
        target = CACHE / name
        if "/" in name or not target.is_file():
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", str(target.stat().st_size)),
            ],
        )
        return [target.read_bytes()]
    identity = USER_DN if environ.get("HTTP_AUTHORIZATION") else SERVICE_DN
    environ["SCRIPT_NAME"] = path
    environ["PATH_INFO"] = ""
    environ["SSL_CLIENT_S_DN"] = identity
    environ["SSL_CLIENT_I_DN"] = "/DC=test/CN=Test CA"
    environ["GRST_CRED_0"] = f"X509USER 0 0 1 {identity}"
    environ["GRST_CRED_1"] = "VOMS 0 0 1 /sphenix"
    environ["REMOTE_HOST"] = "127.0.0.1"
    environ["HTTPS"] = "on"
    return panda_application(environ, start_response)
