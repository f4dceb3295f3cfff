"""The OIDC ID token panda-client will use, found, decoded and refreshed by panda-client's own code.

panda-client takes a token given in the environment as it is (``Client.get_token_string``:
``$PANDA_AUTH_ID_TOKEN``, the file ``$OIDC_AUTH_TOKEN_FILE``, then ``$OIDC_AUTH_ID_TOKEN``),
and otherwise reads its cache ``$PANDA_CONFIG_ROOT/.token``, refreshing an expiring ID token
with the cached refresh token (``openidc_utils.OpenIdConnect_Utils``). SHREK does the same,
with the same functions, *before* anything is sent, so a user panda-client would serve is
served, and a missing or dead credential is one clear refusal (exit 18) instead of a failed
call half-way through a submission. The interactive device-authorization flow that
panda-client falls back to is never started: SHREK may run where nobody can answer it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from shrek.errors import ExitCode, ShrekError

if TYPE_CHECKING:
    import logging

EXPIRY_MARGIN_S = 60  # a token that dies within this is as good as dead for a submission


@dataclass(frozen=True)
class Credential:
    """An ID token, where it came from, and its decoded claims."""

    token: str
    source: str
    claims: dict[str, Any]


def _openidc() -> Any:
    try:
        from pandaclient import openidc_utils
    except ImportError as exc:
        raise ShrekError(
            "panda-client is not installed",
            "pip install panda-client (or make install)",
            ExitCode.TOOL_MISSING,
        ) from exc
    return openidc_utils


def _quiet_logger() -> logging.Logger:
    import logging  # 2 ms, and only a PanDA call logs: every rendering imports this module

    logger = logging.getLogger("shrek.panda.oidc")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


def decode(token: str, source: str) -> dict[str, Any]:
    """The token's claims, decoded by panda-client's ``openidc_utils.decode_id_token``."""
    try:
        claims = _openidc().decode_id_token(token)
        if not isinstance(claims, dict):
            raise ValueError("not a mapping")
        return claims
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise ShrekError(
            f"the PanDA credential from {source} is not an OIDC ID token",
            "get a new token (panda-client: 'pbook' logs you in)",
            ExitCode.CREDENTIALS,
        ) from exc


def _given(env: dict[str, str]) -> tuple[str, str] | None:
    """A token given in the environment, in the order ``Client.get_token_string`` reads them."""
    if "PANDA_AUTH_ID_TOKEN" in env:
        return env["PANDA_AUTH_ID_TOKEN"].strip(), "$PANDA_AUTH_ID_TOKEN"
    if "OIDC_AUTH_TOKEN_FILE" in env:
        source = env["OIDC_AUTH_TOKEN_FILE"]
        try:
            return Path(source).read_text(encoding="utf-8").strip(), source
        except OSError as exc:
            raise ShrekError(
                f"cannot read the token file {source}: {exc.strerror}",
                "point OIDC_AUTH_TOKEN_FILE at a readable token file",
                ExitCode.CREDENTIALS,
            ) from exc
    if "OIDC_AUTH_ID_TOKEN" in env:
        return env["OIDC_AUTH_ID_TOKEN"].strip(), "$OIDC_AUTH_ID_TOKEN"
    return None


def auth_config_url(env: dict[str, str]) -> str:
    """Where panda-client's ``_HttpClient.get_oidc`` finds the VO's OIDC configuration."""
    parsed = urlparse(env.get("PANDA_URL_SSL", "https://pandaserver.cern.ch:25443/server/panda"))
    vo = env.get("PANDA_AUTH_VO") or env.get("OIDC_AUTH_VO", "")
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.hostname}{port}/auth/{vo}_auth_config.json"


def _cached(env: dict[str, str]) -> tuple[str, str] | None:
    """panda-client's cached token, refreshed through its refresh token when it expires."""
    token_dir = os.path.expanduser(env.get("PANDA_CONFIG_ROOT", "~/.pathena"))
    source = str(Path(token_dir) / ".token")
    if not Path(source).is_file():
        return None
    openidc_utils = _openidc()
    url = auth_config_url(env)
    oidc = openidc_utils.OpenIdConnect_Utils(url, token_dir=token_dir, log_stream=_quiet_logger())
    valid, value, _ = oidc.check_token()
    if valid:
        return value, source
    if not value:  # unreadable, or expired with no refresh token
        return None
    ok, auth_config = oidc.fetch_page(url)
    if ok:
        ok, endpoints = oidc.fetch_page(auth_config["oidc_config_url"])
    if ok:
        ok, refreshed = oidc.refresh_token(
            endpoints["token_endpoint"],
            auth_config["client_id"],
            auth_config.get("client_secret", ""),
            value,
        )
        if ok:
            return refreshed, f"{source} (refreshed)"
    raise ShrekError(
        f"the cached PanDA token in {source} expired and could not be refreshed",
        "log in again with panda-client ('pbook'), then re-run",
        ExitCode.CREDENTIALS,
    )


def credential(env: dict[str, str]) -> Credential:
    """The ID token panda-client will send, checked for presence and expiry."""
    if env.get("PANDA_AUTH") != "oidc":
        raise ShrekError(
            f"SHREK talks to PanDA with OIDC tokens only (PANDA_AUTH is '{env.get('PANDA_AUTH')}')",
            "export PANDA_AUTH=oidc",
            ExitCode.CREDENTIALS,
        )
    if not env.get("PANDA_AUTH_VO") and not env.get("OIDC_AUTH_VO"):
        raise ShrekError(
            "no OIDC virtual organisation for PanDA",
            "set panda: {auth_vo: ...} in shrek.yaml or export PANDA_AUTH_VO",
            ExitCode.CREDENTIALS,
        )
    found = _given(env) or _cached(env)
    if not found or not found[0]:
        raise ShrekError(
            "no PanDA credential: no OIDC token in $PANDA_AUTH_ID_TOKEN, "
            "$OIDC_AUTH_TOKEN_FILE, $OIDC_AUTH_ID_TOKEN or $PANDA_CONFIG_ROOT/.token",
            "log in once with panda-client (e.g. 'pbook', which caches a token), or export "
            "OIDC_AUTH_TOKEN_FILE=<file with your ID token>",
            ExitCode.CREDENTIALS,
        )
    token, source = found
    claims = decode(token, source)
    expiry = claims.get("exp")
    if isinstance(expiry, (int, float)) and expiry < time.time() + EXPIRY_MARGIN_S:
        when = datetime.fromtimestamp(expiry, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise ShrekError(
            f"the PanDA credential from {source} expired at {when}",
            "a token given in the environment is used as it is: give a fresh one, or unset it "
            "so panda-client's cached token (refreshed automatically) is used",
            ExitCode.CREDENTIALS,
        )
    return Credential(token, source, claims)
