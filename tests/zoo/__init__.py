"""The API zoo: mocks of real public APIs' conventions, each run through dlt and sluice.

Add a case in one of the family modules: a handler decorated with `@case(config=..., notes=...)`.
The handler is mounted at `/<function name>/`; the config's `client.base_url` is relative to it,
and any config string starting with `zoo:` becomes an absolute URL under it.
"""

from . import business, devtools, shapes  # noqa: F401 - importing registers the cases
from .compare import compare
from .kit import CASES, Case, Zoo

__all__ = ["CASES", "Case", "Zoo", "compare"]
