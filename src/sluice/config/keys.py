"""The keys each level of a configuration accepts, with a line of documentation each.

The parser checks input against these tables and `docs/dialect.md` is generated from them,
so the reference cannot drift from what runs.
"""

from __future__ import annotations

TOP: dict[str, str] = {
    "client": "how to reach the API: base_url, headers, auth, paginator, error handling, politeness",
    "resources": "list of resources: a name (also the path), a dict, or a dlt resource",
    "resource_defaults": "keys merged into every resource (endpoint shallow, params/json one level, columns deep)",
}
CLIENT: dict[str, str] = {
    "base_url": "URL every path is appended to (required)",
    "headers": "headers sent with every request",
    "auth": "authentication: bearer, api_key, http_basic (alias basic), oauth2_client_credentials, or an instance",
    "paginator": "default paginator of every endpoint",
    "error_handler": "sluice: retries (retry_on_status_codes, max_retries, backoff_factor)",
    "max_concurrency": "sluice: requests in flight at once for the whole source (default 8)",
    "rate_limit": "sluice: {requests_per_second, burst} for the whole source",
    "max_retry_delay": "sluice: cap of any wait before a retry, seconds (default 60)",
    "timeout": "sluice: seconds for one HTTP exchange (default 60)",
}
RESOURCE: dict[str, str] = {
    "name": "resource name (required)",
    "endpoint": "path string or endpoint dict",
    "primary_key": "column or list of columns",
    "merge_key": "column or list of columns",
    "write_disposition": "append, replace, merge, or {disposition, strategy}",
    "columns": "dlt column hints",
    "table_name": "destination table (default: the resource name)",
    "selected": "load this resource (default true); false: fetched only to feed children",
    "parallelized": "accepted for dlt compatibility; sluice always fetches concurrently",
    "include_from_parent": "parent fields copied into each child record as _<parent>_<field>",
    "processing_steps": "list of {filter|map|yield_map: callable}",
    "max_table_nesting": "nesting depth above which nested data is stored as JSON",
    "schema_contract": "dlt schema contract",
    "table_format": "dlt table format",
    "file_format": "dlt file format",
    "references": "dlt table references",
    "nested_hints": "dlt nested table hints",
    "json_schema": "sluice: JSON Schema (dict or path to a .json file) turned into column hints",
}
ENDPOINT: dict[str, str] = {
    "path": "path appended to base_url (a leading '/' does not reset it); absolute URLs win",
    "method": "GET or POST (any case)",
    "params": "query parameters; values may hold placeholders or legacy resolve/incremental dicts",
    "json": "JSON body (placeholders allowed)",
    "data": "form or raw body (placeholders allowed)",
    "headers": "headers of this endpoint (placeholders allowed)",
    "paginator": "paginator of this endpoint",
    "data_selector": "JSONPath of the records in the response",
    "response_actions": "list of {status_code, content, action: 'ignore' | callable(s)}",
    "incremental": "cursor_path, initial_value, end_value, start_param, end_param, ...",
    "auth": "authentication of this endpoint (replaces the client's)",
    "error_handler": "sluice: retries of this endpoint (most specific wins)",
    "max_concurrency": "sluice: requests in flight for this resource",
    "timeout": "sluice: seconds for one HTTP exchange",
    "max_retry_delay": "sluice: cap of a wait before a retry",
}
ERROR_HANDLER: dict[str, str] = {
    "retry_on_status_codes": "statuses retried besides 429, 500, 502, 503, 504",
    "max_retries": "retries after the first attempt (default 4)",
    "backoff_factor": "wait before retry n: backoff_factor * 2**(n-1) seconds (default 1)",
}
INCREMENTAL: dict[str, str] = {
    "cursor_path": "JSONPath of the cursor field in each record (required)",
    "initial_value": "first start value",
    "end_value": "last value (a backfill range)",
    "start_param": "query parameter that carries the start value",
    "end_param": "query parameter that carries the end value",
    "last_value_func": "max (default), min, or a callable",
    "lag": "re-read this much before the last value",
    "on_cursor_value_missing": "raise (default), include or exclude",
    "convert": "callable applied to the value before it is sent",
    "range_start": "open or closed (default)",
    "range_end": "open (default) or closed",
}
RATE_LIMIT: dict[str, str] = {
    "requests_per_second": "sustained rate (required)",
    "burst": "requests allowed at once above the rate (default 1)",
}
