"""Row keys and row numbers for Arrow pages, made in bulk.

dlt gives every row a `_dlt_id`: `base64(random bytes)` without the `=` padding. It makes
them one Python string at a time; here a page of keys is encoded by one C call and
trimmed by slice deletions, then handed to Arrow as buffers. No numpy: pyarrow does not
depend on it.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]


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
    offsets = arange(count + 1, width, pa.int32())
    return pa.StringArray.from_buffers(count, offsets.buffers()[1], pa.py_buffer(bytes(encoded)))


def arange(count: int, step: int = 1, arrow_type: Any = None) -> Any:
    """0, step, 2 * step, ... (`count` of them), as a non-null Arrow array (int64 unless told):
    a running sum in C++, ten times faster than Python's range into an array."""
    steps = pa.repeat(pa.scalar(step, arrow_type or pa.int64()), count)
    return pc.cumulative_sum_checked(steps, start=-step)  # overflow: an error, not a wrap
