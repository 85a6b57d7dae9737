"""Mock names -> API classes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._api import MockApi
from ._bench import BenchApi
from ._incidents import IncidentsApi
from ._offset import EventManagementApi, TicketDataApi
from ._servicedesk import ServiceDeskApi
from ._ticketing import TicketingApi

API_CLASSES: dict[str, type[MockApi]] = {
    "ticketing": TicketingApi,
    "tickets": TicketDataApi,
    "events": EventManagementApi,
    "servicedesk": ServiceDeskApi,
    "incidents": IncidentsApi,
    "bench": BenchApi,
}
MOCK_NAMES: tuple[str, ...] = tuple(API_CLASSES)


def create_api(name: str, counts: Mapping[str, int], seed: int, options: Mapping[str, Any]) -> MockApi:
    cls = API_CLASSES.get(name)
    if cls is None:
        raise ValueError(f"unknown mock {name!r}; expected one of {', '.join(MOCK_NAMES)}")
    return cls(counts, seed, options)
