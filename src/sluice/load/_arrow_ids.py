"""Row keys for Arrow pages, made in bulk.

dlt gives every row a `_dlt_id`: `base64(random bytes)` without the `=` padding. It makes
them one Python string at a time; here a page of keys is encoded by one C call and
trimmed by slice deletions, then handed to Arrow as buffers. No numpy: pyarrow does not
depend on it.
"""

from __future__ import annotations

import base64
import secrets
from array import array
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]


def random_ids(count: int, id_bytes: int) -> Any:
    """`count` random row keys of `id_bytes` bytes each, as a non-null Arrow string array."""
    block = -(-id_bytes // 3) * 3  # whole base64 groups, so the blocks encode side by side
    random = secrets.token_bytes(count * id_bytes)
    raw = bytearray(count * block)  # zero padding encodes as "A" where dlt's has "="
    for byte in range(id_bytes):
        raw[byte::block] = random[byte::id_bytes]
    encoded = bytearray(base64.b64encode(raw))
    full = block // 3 * 4
    width = id_bytes // 3 * 4 + (id_bytes % 3 + 1 if id_bytes % 3 else 0)
    for stride in range(full, width, -1):
        del encoded[stride - 1 :: stride]  # drop the last character of every key
    offsets = array("i", range(0, (count + 1) * width, width))
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(bytes(encoded)))
