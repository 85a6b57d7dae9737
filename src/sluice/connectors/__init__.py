"""The five seed configurations, verbatim, as importable modules.

Each module is the seed's Python block byte for byte, except that `rest_api_source` is
imported from sluice instead of dlt (`tests/test_mock_connectors_verbatim.py` checks it).
Importing a module builds the source, so it needs its secret (`dlt.secrets[...]`): this
package only describes them and imports none.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Connector:
    """One seed: where its config lives, which mock serves it, which secret it reads."""

    name: str
    module: str
    seed_file: str
    mock: str
    secret: str
    title: str


def _connector(name: str, seed_file: str, secret: str, title: str) -> Connector:
    return Connector(name, f"sluice.connectors.{name}", seed_file, name, secret, title)


CONNECTORS: dict[str, Connector] = {
    c.name: c
    for c in (
        _connector(
            "ticketing", "000_b13426d837d60ebe.txt", "api_key", "Ticketing platform: events, orders, tickets, tags"
        ),
        _connector("tickets", "001_7747e6961a2ba397.txt", "api_key", "Ticket data API"),
        _connector("events", "002_5cceb9c4f1499974.txt", "api_key", "Event management API"),
        _connector("servicedesk", "003_c6794804c0e2f4d0.txt", "api_key", "Service desk API: 14 resources"),
        _connector("incidents", "004_a6431388c95613b9.txt", "api_token", "Incident management API"),
    )
}

__all__ = ["CONNECTORS", "Connector"]
