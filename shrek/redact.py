"""One redaction step for everything SHREK writes down, and the detector validation uses.

Records, tag READMEs and commit messages are kept forever and copied everywhere; a token, a
password or a private key that reaches them is leaked. Everything SHREK writes into them
passes through :func:`redact`, and validation refuses a tag whose parameters, resources or
commands hold a credential (:func:`find_credentials`).

Known credential formats are recognised by **detect-secrets** (Yelp's maintained detector:
JSON Web Tokens, private keys, AWS, GitHub, GitLab, Slack, Stripe, PyPI, npm, OpenAI and other
API tokens, credentials in URLs). Two shapes it does not see line by line are matched here:
the body of a PEM private-key block (many lines), and ``password=…`` / ``token: …``-style
assignments without quotes, as servers print them. High-entropy strings alone are not
credentials (every checksum SHREK records is one), so they are left alone.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, NamedTuple

MASK = "***"

# detect-secrets' plugins for known formats (no entropy-based guessing: checksums are not secrets)
PLUGINS = (
    "ArtifactoryDetector",
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "JwtTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
)


class _Compiled:
    """A regular expression compiled when it is first used. The expressions below run only on
    a text that may hold a credential (the cheap tests before each say when), which most
    commands never meet; compiling them all cost every command 1 ms."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern, self._flags = pattern, flags

    def __getattr__(self, name: str) -> Any:  # search, finditer...: the compiled one's, kept
        method = getattr(re.compile(self._pattern, self._flags), name)
        setattr(self, name, method)
        return method


# Cheap triggers: only lines with one of these are handed to detect-secrets (a README of
# hundreds of lines is checked in microseconds, and detect-secrets is imported only when
# something looks like a credential).
_TRIGGER = _Compiled(
    r"eyJ|PRIVATE KEY|://[^/\s]*@|AKIA|ASIA|gh[pousr]_|glpat-|xox[abposr]-|[sr]k_live_"
    r"|sk-[A-Za-z0-9]|pypi-|npm_|SG\.|AccountKey=|hooks\.slack\.com|[0-9]{8,}:AA"
    r"|AC[a-z0-9]{32}|SK[0-9a-fA-F]{32}|(?i:discord|twilio|sendgrid|mailchimp|square"
    r"|cloudant|softlayer|artifactory|ibm)"
)
# Before the trigger: substrings every trigger match contains, found by plain substring
# search (the expression above costs about 10 µs per short text; these, well under one).
_TRIGGER_PARTS = (
    "eyJ", "PRIVATE KEY", "://", "AKIA", "ASIA", "gh", "glpat-", "xox", "k_live_", "sk-",
    "pypi-", "npm_", "SG.", "AccountKey=", "hooks.slack.com", ":AA", "AC", "SK",
)  # fmt: skip
_TRIGGER_WORDS = (
    "discord", "twilio", "sendgrid", "mailchimp", "square", "cloudant", "softlayer",
    "artifactory", "ibm",
)  # fmt: skip


def _may_trigger(text: str) -> bool:
    """False only when no line of ``text`` can match :data:`_TRIGGER`."""
    if any(part in text for part in _TRIGGER_PARTS) or not text.isascii():
        return True  # (beyond ASCII, case-insensitive matching is more than lower())
    lower = text.lower()
    return any(word in lower for word in _TRIGGER_WORDS)


_PEM = _Compiled(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.S)
_ASSIGNMENT = _Compiled(
    r"(?i)(?<![\w-])([\w.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|credential|auth[_-]?code|_pwd\b)[\w.-]*)"
    # the value: not a variable ($TOKEN, ${TOKEN}: reading a credential at run time is right)
    r"""(["']?\s*[=:]\s*["']?)(?!\$)([^\s"',;&<>]{4,})"""
)
# Words without which no assignment is a credential: the assignment pattern runs only then.
_ASSIGNMENT_WORDS = _Compiled(r"(?i)pass|secret|token|key|credential|auth|_pwd")
# In ASCII text: every name the assignment pattern matches holds one of these, and is
# followed (after the rest of its [\w.-] run) by what opens its value.
_ASSIGNMENT_PARTS = ("pass", "secret", "token", "key", "credential", "auth", "_pwd")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")
_VALUE_OPENING = re.compile(r"""["']?\s*[=:]""")


def _may_assign(text: str) -> bool:
    """False only when :data:`_ASSIGNMENT` cannot match: no word of a credential's name is
    followed, at the end of its name, by ``=`` or ``:``. (The expression costs 20 µs on a
    step's texts, where ``run_pass2.sh`` alone would send every second one to it.)"""
    if not text.isascii():  # beyond ASCII, case-insensitive matching is more than lower()
        return _ASSIGNMENT_WORDS.search(text) is not None
    lower = text.lower()
    for part in _ASSIGNMENT_PARTS:
        start = lower.find(part)
        while start >= 0:
            end = start + len(part)
            while end < len(lower) and lower[end] in _NAME_CHARS:
                end += 1  # the name's [\w.-] run: the pattern's name cannot stop earlier
            if _VALUE_OPENING.match(text, end):
                return True
            start = lower.find(part, start + 1)
    return False


# An HTTP Authorization header's value (curl -H, a server's request log), whatever the token's
# format, and a URL's password whatever its characters (detect-secrets' basic-auth pattern
# stops at '!', '#' and the like).
_AUTHORIZATION = _Compiled(
    r"(?i)\b(?:authorization|proxy-authorization)\s*[:=]\s*[\"']?(?:(?:bearer|basic|token|digest)"
    r"\s+)?([^\s\"',;]{4,})"
)
_BEARER = _Compiled(r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,})")
_URL_PASSWORD = _Compiled(r"://[^/\s:@]+:([^/\s@]+)@")
_TOKEN_TAIL = _Compiled(r"[A-Za-z0-9_\-+/=.~]*")


class Credential(NamedTuple):
    """A credential found in a text: what kind, and where (0-based offsets)."""

    kind: str
    start: int
    end: int


@cache
def _detect_secrets() -> Any:
    """detect-secrets' line scanner, configured once with SHREK's plugins."""
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import get_settings

    get_settings().configure_plugins([{"name": name} for name in PLUGINS])
    return scan_line


# Complex by design: one branch per kind of credential.
def find_credentials(text: str) -> list[Credential]:  # noqa: C901
    """Every credential in ``text``, in order, without overlaps."""
    found: list[Credential] = []
    for match in _PEM.finditer(text) if "PRIVATE KEY" in text else ():
        found.append(Credential("private key", match.start(), match.end()))
    assignments = _ASSIGNMENT.finditer(text) if _may_assign(text) else ()
    for match in assignments:
        found.append(Credential(f"'{match.group(1)}' assignment", match.start(3), match.end(3)))
    if "uth" in text or "earer" in text or "UTH" in text or "EARER" in text:
        for pattern in (_AUTHORIZATION, _BEARER):
            for match in pattern.finditer(text):
                if not match.group(1).startswith("$"):  # "Bearer $TOKEN": read at run time
                    found.append(Credential("HTTP authorization", match.start(1), match.end(1)))
    if "@" in text:
        for match in _URL_PASSWORD.finditer(text):
            if not match.group(1).startswith("$"):
                found.append(Credential("password in a URL", match.start(1), match.end(1)))
    if not _may_trigger(text) or not _TRIGGER.search(text):
        return _without_overlaps(found)
    offset = 0
    for line in text.splitlines(keepends=True):
        if _TRIGGER.search(line):
            found.extend(_known_formats(line, offset))
        offset += len(line)
    return _without_overlaps(found)


def _known_formats(line: str, offset: int) -> list[Credential]:
    found = []
    for secret in _detect_secrets()(line.rstrip("\n")):
        value = secret.secret_value or ""
        start = line.find(value) if value else -1
        if start < 0:
            continue
        # detect-secrets reports a token's significant part (a JWT without its signature, a
        # GitHub token's prefix): the whole token goes
        tail = _TOKEN_TAIL.match(line, start + len(value))  # matches the empty string too
        end = tail.end() if tail else start + len(value)
        found.append(Credential(secret.type, offset + start, offset + end))
    return found


def _without_overlaps(found: list[Credential]) -> list[Credential]:
    kept: list[Credential] = []
    # where spans start together, a known format names the kind better than an assignment
    for item in sorted(found, key=lambda c: (c.start, -c.end, c.kind.endswith("assignment"))):
        if kept and item.start < kept[-1].end:
            if item.end > kept[-1].end:
                kept[-1] = Credential(kept[-1].kind, kept[-1].start, item.end)
            continue
        kept.append(item)
    return kept


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every credential (and every string of ``secrets``) replaced by ***."""
    for secret in secrets or []:
        if secret:
            text = text.replace(secret, MASK)
    found = find_credentials(text)
    for item in reversed(found):
        text = text[: item.start] + MASK + text[item.end :]
    return text


def redact_parameter(name: str, value: object) -> str:
    """A parameter's value as it may be shown: *** when the name says it is a credential
    (``db_password``, ``api_key``) or the value is one."""
    text = str(value)
    return MASK if find_credentials(f"{name}={text}") else text


def redact_data(data: Any) -> Any:
    """Every string in a record-like structure (dicts, lists) passed through :func:`redact`."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {key: redact_data(value) for key, value in data.items()}
    if isinstance(data, list):
        return [redact_data(value) for value in data]
    return data
