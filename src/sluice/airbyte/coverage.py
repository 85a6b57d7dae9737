"""What of a manifest sluice runs, what it does not and where; and the same over a corpus.

    python -m sluice.airbyte.coverage ../shared/airbyte/manifests    # no request is made

prints how many manifests convert with every stream supported, how many streams in all,
and the most frequent reasons for the rest (each issue keyed by its message, values left out).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Issue
from .convert import Conversion, convert
from .manifest import Manifest, read_manifest

_SAMPLES = {"integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}


def sample_config(manifest: Manifest) -> dict[str, Any]:
    """A config as a user would fill the spec in: defaults, else a plausible value per type."""
    properties = manifest.spec.get("properties") or {}
    return {name: _sample(name, prop) for name, prop in properties.items() if isinstance(prop, Mapping)}


def _sample(name: str, prop: Mapping[str, Any]) -> Any:
    if "default" in prop:
        return prop["default"]
    if "const" in prop:
        return prop["const"]
    options = prop.get("oneOf") or prop.get("anyOf")
    if options and isinstance(options[0], Mapping):
        return {k: _sample(k, p) for k, p in (options[0].get("properties") or {}).items() if isinstance(p, Mapping)}
    if "enum" in prop and prop["enum"]:
        return prop["enum"][0]
    kind = prop.get("type")
    kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
    if kind in _SAMPLES:
        return _SAMPLES[kind]
    if prop.get("format") == "date" or re.search(r"date|start|since|from", name) and "T" not in str(prop.get("pattern", "T")):
        return "2024-01-01"
    if re.search(r"date|start|since|from|time", name):
        return "2024-01-01T00:00:00Z"
    return "https://example.com" if re.search(r"url|host|domain|endpoint|server", name) else f"sample-{name}"


def checked(converted: Conversion) -> Conversion:
    """The conversion with sluice's own parser run over it: a stream whose resource the
    parser refuses is not supported either (its issue keeps sluice's path)."""
    from ..config import parse_source

    if not converted.config["resources"]:
        return converted
    try:
        parse_source(converted.config)
    except ConfigError as exc:
        resources = converted.config["resources"]
        for issue in exc.issues:
            index = re.match(r"resources\[(\d+)\]", issue.path)
            stream = resources[int(index.group(1))].get("table_name", resources[int(index.group(1))]["name"]) if index else None
            found = Issue(f"stream {stream!r} (sluice: {issue.path})" if stream else issue.path, issue.message, issue.hint)
            converted.issues.append(found)
            if stream in converted.streams:
                converted.streams[stream].append(found)
    return converted


def reason(issue: Issue) -> str:
    """An issue's kind, for counting: its message with quoted values and numbers left out."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\[[^\]]*\]|\d+", "…", issue.message)
    return text.split(";")[0][:90]


@dataclass
class Survey:
    manifests: int = 0
    complete: int = 0
    streams: int = 0
    supported: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # reason -> manifests it blocks
    unreadable: list[str] = field(default_factory=list)

    def add(self, converted: Conversion) -> None:
        self.manifests += 1
        self.streams += len(converted.streams)
        self.supported += len(converted.supported)
        self.complete += not converted.issues
        self.reasons.update({reason(issue) for issue in converted.issues})

    def lines(self, top: int = 25) -> list[str]:
        share = 100 * self.complete / max(self.manifests, 1)
        out = [f"manifests: {self.manifests}; every stream supported: {self.complete} ({share:.0f}%)",
               f"streams: {self.supported} of {self.streams} supported ({100 * self.supported / max(self.streams, 1):.0f}%)",
               "", f"{'manifests':>9}  reason (top {top})"]
        out += [f"{count:>9}  {text}" for text, count in self.reasons.most_common(top)]
        out += [f"unreadable: {name}" for name in self.unreadable]
        return out


def survey(paths: Iterable[Path]) -> Survey:
    """Convert every manifest with a sample config; nothing is requested."""
    result = Survey()
    for path in paths:
        try:
            manifest = read_manifest(path)
        except ConfigError:
            result.unreadable.append(path.name)
            continue
        result.add(checked(convert(manifest, sample_config(manifest))))
    return result


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "../shared/airbyte/manifests")
    print("\n".join(survey(sorted(folder.glob("*.yaml"))).lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
