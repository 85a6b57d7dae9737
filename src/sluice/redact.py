"""Keep secrets out of every message, log line and summary."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters whose values are secrets whatever the configuration says (dlt's list, and more).
SENSITIVE_PARAMS = frozenset(
    {
        "api_key", "apikey", "api-key", "token", "access_token", "auth", "key", "secret",
        "client_secret", "password", "sig", "signature", "code", "refresh_token",
    }
)
MASK = "***"


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """The URL with secret query values and user info masked."""
    parts = urlsplit(url)
    query = [(k, MASK if k.lower() in SENSITIVE_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    netloc = parts.netloc.rsplit("@", 1)[-1]
    clean = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), parts.fragment))
    return redact_text(clean, secrets)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """The text with every known secret value replaced by a mask."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def truncate(text: str, limit: int = 300) -> str:
    """A body shortened for a message: bodies can be megabytes."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
