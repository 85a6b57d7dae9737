"""Logging for the command line: readable lines for people, JSON lines for schedulers.

`--log-format json` writes one JSON object per line on stdout and nothing else there, so
`sluice run ... --log-format json | jq` works. A record's `extra={"fields": {...}}` is merged
into its object. Secrets are redacted upstream, before any message is built.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_NOISY = ("dlt", "urllib3", "asyncio", "filelock")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, default=str)


def setup(log_format: str, verbose: bool) -> None:
    """Route sluice's loggers: JSON lines on stdout, or rich lines on stderr."""
    handler: logging.Handler
    if log_format == "json":
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        level = logging.DEBUG if verbose else logging.INFO
    else:
        from rich.console import Console
        from rich.logging import RichHandler

        # A console that looks up sys.stderr when it writes: inside a live display that is rich's
        # proxy, so log lines print above the progress table instead of tearing it.
        handler = RichHandler(console=Console(stderr=True), show_time=False, show_path=False, markup=False)
        level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    logging.getLogger("sluice").setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose and log_format != "json" else logging.WARNING)
