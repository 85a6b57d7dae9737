"""Row keys for Arrow pages, made in bulk.

dlt gives every row a `_dlt_id`: `base64(random bytes)` without the `=` padding. It makes
them one Python string at a time; here one C call encodes a whole page and the result goes
straight into an Arrow string array.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]


def random_ids(count: int, id_bytes: int) -> Any:
    """`count` random row keys of `id_bytes` bytes each, as a non-null Arrow string array."""
    block = -(-id_bytes // 3) * 3  # whole base64 groups: blocks encode side by side
    raw = np.zeros((count, block), dtype=np.uint8)
    raw[:, :id_bytes] = np.frombuffer(secrets.token_bytes(count * id_bytes), dtype=np.uint8).reshape(count, id_bytes)
    encoded = np.frombuffer(base64.b64encode(raw.tobytes()), dtype=np.uint8).reshape(count, block // 3 * 4)
    # zero padding bytes encode as trailing "A"s exactly where dlt's encoding has "=" (stripped)
    width = id_bytes // 3 * 4 + (id_bytes % 3 + 1 if id_bytes % 3 else 0)
    chars = np.ascontiguousarray(encoded[:, :width])
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))
