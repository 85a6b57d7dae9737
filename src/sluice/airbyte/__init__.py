"""Airbyte declarative manifests (the low-code CDK's YAML) run by sluice's engine.

    from sluice.airbyte import manifest_source
    source = manifest_source("manifest.yaml", {"api_key": "..."})
    dlt.pipeline("x", destination="duckdb").run(source)

`manifest` resolves `$ref`s and `$parameters`, `interpolation` is Airbyte's Jinja in sluice's
sandbox, `convert` maps components onto sluice's dialect (`paginators`, `requester`,
`incremental` and `steps` hold the pieces), `coverage` says what maps and what does not.
"""

from __future__ import annotations

from .convert import Conversion, convert
from .manifest import Manifest, is_manifest, read_manifest
from .source import conversion, manifest_source

__all__ = ["Conversion", "Manifest", "conversion", "convert", "is_manifest", "manifest_source", "read_manifest"]
