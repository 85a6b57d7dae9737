"""Local mocks of the five seed APIs and a benchmark API, served by aiohttp on 127.0.0.1.

    from sluice.mock import MockServer, Fault, MOCK_NAMES

    with MockServer("ticketing", counts={"events": 30}, seed=0,
                    faults={"orders": Fault(latency_ms=5)}, options={"duplicate": False}) as m:
        m.base_url       # what the seed config's base_url becomes
        m.api_key        # the one key the mock accepts
        m.data("events") # ground truth, as a client would parse it
        m.requests("orders"), m.max_in_flight, m.log

Mocks (`MOCK_NAMES`), with the base_url each seed needs:

    ticketing    seed 000  origin + "/v1/"     x-api-key header
    tickets      seed 001  origin              api_key query parameter
    events       seed 002  origin              api_key query parameter
    servicedesk  seed 003  origin + "/api/v2"  HTTP Basic, key as user name
    incidents    seed 004  origin              `api_key:` or `Authorization:` header
    bench        -         origin              none (option require_auth: Bearer)

Each API module documents its routes, envelopes, defaults, counts and options:
`_ticketing`, `_offset` (tickets, events), `_servicedesk`, `_incidents`, `_bench`.

`MockServer(name, *, counts=None, seed=0, faults=None, options=None, port=0,
host="127.0.0.1")` builds the data at once (deterministic in `seed`; unknown count or
option names raise ValueError) and serves from a background thread on `start()` or
`with`; `stop()` / leaving the block shuts it down.

- `origin`, `base_url`, `port`, `api_key`, `primary_key`, `counts`, `routes`
- `log`: `LoggedRequest(method, path, query, status, route)` per finished request, raw
  query values (keys included); `status` 0 = connection dropped, 499 = client left first;
  route `"-"` = no route matched (404).
- `requests(route)`, `max_in_flight`, `max_in_flight_route(route)`, `reset_log()`.
  Handlers answer synchronously from memory, so without latency a request is rarely in
  flight long enough to overlap another: give the route `latency_ms` to observe a client's
  concurrency.
- `data(resource)` (aliases: the seed's resource names), `unique_ids(resource)`
- `set_fault(route, Fault(...))` (route `"*"`: every route without its own fault),
  `clear_faults()`; `errors`: tracebacks of mock bugs (answered 500).

Fault knobs (`Fault`, per route, all optional; see `_faults` for precedence):
`latency_ms`, `jitter_ms`, `status_burst=(code, n)`, `status_every=(code, k)`,
`rate_limit_429=(n, retry_after_s)` (the API's real 429 headers), `transient_403=k` (the
API's real 403 body), `persistent_status=code`, `drop_connection=n`, `truncated=n`
(Content-Length promises more than is sent), `malformed_json=n` (half the JSON, complete
HTTP message), `empty_200=n`, `html_200=n`, `max_in_flight=n` (429, Retry-After 0).

Options (per mock):
- ticketing: `duplicate` (True)
- tickets, events: `drop_total` (False), `short_page_lie` (False)
- servicedesk: `csat_ratio` (0.2), `service_request_ratio` (0.4), `disabled_modules`
  (set of route names answering 403), `rate_limit_per_minute` (None: headers only),
  `rate_window_s` (60.0)
- incidents: `offset_cap` (20000), `retry_after` (False), `duplicate` (True)
- bench: `require_auth` (False)

`serve_forever(name, port, host="127.0.0.1", **kwargs)` and
`python -m sluice.mock NAME --port P [--count resource=N ...] [--latency-ms X]` serve one
mock in the foreground until Ctrl-C, printing `base_url:` and `api_key:` lines.
"""

from ._faults import Fault
from ._registry import MOCK_NAMES
from ._server import LoggedRequest, MockServer, serve_forever

__all__ = ["MOCK_NAMES", "Fault", "LoggedRequest", "MockServer", "serve_forever"]
