"""Pieces of the Arrow path checked against the dlt functions they stand in for."""

from __future__ import annotations

import base64
import datetime
import os
from typing import Any

import pyarrow as pa
import pytest
from dlt.common.data_types.type_helpers import coerce_value
from dlt.common.schema.detections import is_iso_timestamp
from dlt.common.time import normalize_timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.load import _arrow_ids
from sluice.load._arrow_types import TypeRefused, parse_timestamps
from sluice.load.arrow import ArrowPageWriter, ArrowUnsupported, TableHints


class _FixedBytes:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def token_bytes(self, count: int) -> bytes:
        assert count == len(self.data)
        return self.data


@pytest.mark.parametrize("id_bytes", [1, 2, 3, 10, 15, 16])
def test_ids_are_dlts_encoding_of_random_bytes(monkeypatch: pytest.MonkeyPatch, id_bytes: int) -> None:
    data = os.urandom(40 * id_bytes)
    monkeypatch.setattr(_arrow_ids, "secrets", _FixedBytes(data))
    ids = _arrow_ids.random_ids(40, id_bytes)
    expected = [base64.b64encode(data[i * id_bytes : (i + 1) * id_bytes]).decode().rstrip("=") for i in range(40)]
    assert ids.to_pylist() == expected
    assert ids.null_count == 0


def test_row_numbers_and_offsets_are_made_in_arrow_and_never_wrap() -> None:
    assert _arrow_ids.arange(5).to_pylist() == [0, 1, 2, 3, 4]
    assert _arrow_ids.arange(3, 14, pa.int32()).to_pylist() == [0, 14, 28]
    assert _arrow_ids.arange(3, 14, pa.int32()).type == pa.int32() and _arrow_ids.arange(3).type == pa.int64()
    assert len(_arrow_ids.arange(0)) == 0 and _arrow_ids.random_ids(0, 10).to_pylist() == []
    with pytest.raises(pa.ArrowInvalid):  # offsets past 2**31: an error the writer falls back on, not a wrap
        _arrow_ids.arange(200_000_000, 14, pa.int32())


def _dlt_timestamp(text: str) -> datetime.datetime:
    """What dlt's normalizer stores for `text` in a timestamp column (tz-aware, UTC)."""
    return normalize_timezone(coerce_value("timestamp", "text", text), True)  # type: ignore[no-any-return]


_digits = st.integers


@st.composite
def rfc3339(draw: Any) -> str:
    day = draw(st.dates(min_value=datetime.date(1, 1, 1), max_value=datetime.date(9999, 12, 31)))
    text = f"{day.year:04d}-{day.month:02d}-{day.day:02d}T{draw(_digits(0, 23)):02d}:{draw(_digits(0, 59)):02d}"
    if draw(st.booleans()):
        text += f":{draw(_digits(0, 59)):02d}"
        if draw(st.booleans()):
            text += "." + "".join(str(d) for d in draw(st.lists(_digits(0, 9), min_size=1, max_size=6)))
    zone = draw(st.sampled_from(["", "Z", "+hh:mm", "-hh:mm", "+hhmm", "+hh"]))
    hours, minutes = draw(_digits(0, 23)), draw(_digits(0, 59))
    zone = zone.replace("hh", f"{hours:02d}").replace("mm", f"{minutes:02d}")
    return text + zone


@settings(max_examples=400, deadline=None)
@given(st.lists(rfc3339(), min_size=1, max_size=5))
def test_timestamps_parse_as_dlt_does(texts: list[str]) -> None:
    try:
        expected = [_dlt_timestamp(t) for t in texts]
    except (ValueError, OverflowError):  # pendulum's ParserError is a ValueError
        with pytest.raises(TypeRefused):
            parse_timestamps(pa.array(texts))
        return
    assert parse_timestamps(pa.array(texts)).to_pylist() == expected
    assert all(is_iso_timestamp(str, t) == "timestamp" for t in texts)


@pytest.mark.parametrize(
    "text",
    ["2024-01-01 10:00:00", "20240101T100000Z", "2024-01-01T10:00:00,5Z", "2024-W01-1T10:00:00Z", "2024-01-01T10:00:00.1234567Z", " 2024-01-01T10:00:00Z"],
)
def test_timestamps_dlt_reads_but_we_do_not_are_refused(text: str) -> None:
    with pytest.raises(TypeRefused):
        parse_timestamps(pa.array(["2024-01-01T00:00:00Z", text]))


def test_impossible_dates_are_refused() -> None:
    with pytest.raises(TypeRefused):
        parse_timestamps(pa.array(["2024-02-30T10:00:00Z"]))


def test_outside_of_an_extraction_the_writer_refuses_and_stays_refused() -> None:
    writer = ArrowPageWriter("events", TableHints())
    assert writer.items([]) == []
    with pytest.raises(ArrowUnsupported, match="not inside a dlt extraction"):
        writer.items([{"id": 1}])
    assert writer.fallback_reason == "not inside a dlt extraction: no load id"
    with pytest.raises(ArrowUnsupported):
        writer.items([{"id": 2}])
