"""Values of one column, as the dlt data type of that column asks.

dlt's JSON normalizer coerces each value into the column's type and, when it cannot, opens a
variant column (`phone__v_text`). Here we accept only the cases where the whole column
converts exactly as dlt would convert each value, and refuse the rest with `TypeRefused`:
the caller then hands the page to dlt itself, which creates the variant as it always does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.types as pat  # type: ignore[import-untyped]

# dlt data types this path writes, and the Arrow type it writes them as
ARROW_TYPES: dict[str, Any] = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),
}

# RFC 3339 as APIs send it; pendulum reads more (week dates, `,` fractions, basic format),
# Arrow reads less, so only this common ground goes the fast way. At most microseconds:
# dlt truncates further digits, Arrow would refuse them.
_ISO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
_HAS_ZONE = r"(Z|[+-]\d{2}(:?\d{2})?)$"


class TypeRefused(Exception):
    """The column's values cannot be written as its dlt type exactly like dlt would."""


def convert(values: Any, data_type: str, json_text: Callable[[], Any]) -> Any:
    """`values` (an Arrow array of the page) as an array of `ARROW_TYPES[data_type]`.

    `json_text` serializes the original objects of a column kept whole (nesting limit)."""
    source = values.type
    if data_type == "json":
        if pat.is_struct(source) or pat.is_list(source) or pat.is_large_list(source):
            return json_text()
        raise TypeRefused(f"a {source} value in a json column")
    if pat.is_null(source):
        return pa.nulls(len(values), ARROW_TYPES[data_type])
    rule = _RULES.get((str(source), data_type))
    if rule is None:
        raise TypeRefused(f"{source} values in a {data_type} column")
    return rule(values)


def parse_timestamps(values: Any) -> Any:
    """ISO 8601 strings as UTC instants; a string without offset is UTC, as in dlt."""
    valid = values.drop_null()
    if len(valid) and not pc.all(pc.match_substring_regex(valid, _ISO)).as_py():
        raise TypeRefused("a string that is not an RFC 3339 timestamp in a timestamp column")
    zoned = values
    if len(valid) and not pc.all(pc.ends_with(valid, "Z")).as_py():
        zoned = pc.if_else(pc.match_substring_regex(values, _HAS_ZONE), values, pc.binary_join_element_wise(values, "Z", ""))
    try:
        return zoned.cast(ARROW_TYPES["timestamp"])
    except pa.ArrowInvalid as exc:  # e.g. 2024-02-30: dlt would open a variant column
        raise TypeRefused(f"an impossible timestamp: {exc}") from None


def _same(values: Any) -> Any:
    return values


def _cast_to(data_type: str) -> Callable[[Any], Any]:
    def cast(values: Any) -> Any:
        try:
            return values.cast(ARROW_TYPES[data_type])
        except pa.ArrowInvalid as exc:
            raise TypeRefused(f"cannot cast to {data_type} exactly: {exc}") from None

    return cast


_RULES: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("string", "text"): _same,
    ("string", "timestamp"): parse_timestamps,
    ("int64", "bigint"): _same,
    ("int64", "double"): _cast_to("double"),  # a safe cast refuses ints a double cannot hold
    ("int64", "text"): _cast_to("text"),  # dlt writes str(int): Arrow agrees digit for digit
    ("double", "double"): _same,
    ("bool", "bool"): _same,
}
