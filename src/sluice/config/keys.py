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
    "max_response_bytes": "sluice: cap of one decoded response body in bytes (default 256 MB); a larger one fails at once",
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
    "max_response_bytes": "sluice: cap of one decoded response body in bytes (replaces the client's)",
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
    "window": "walk [start, end) in windows of this size, each its own chain: an ISO-8601 duration (P7D, PT6H; also on epoch-second or -millisecond cursors) or a number for other numeric cursors",
    "window_granularity": "with window: the cursor's smallest step, for an API whose end bound is inclusive: each window's end is sent as the next window's start minus this (Airbyte's cursor_granularity)",
    "per_parent": "true on a child resource: one cursor per parent record instead of one for the resource",
}
RATE_LIMIT: dict[str, str] = {
    "requests_per_second": "sustained rate (required)",
    "burst": "requests allowed at once above the rate (default 1)",
}
PROCESSING_STEP: dict[str, str] = {
    # dlt applies a step's keys in this order, whatever the order of the dict
    "filter": "callable(record) -> bool: keep the record when true",
    "map": "callable(record) -> record",
    "yield_map": "callable(record) -> iterator of records",
}
WRITE_DISPOSITIONS: dict[str, str] = {
    "append": "add the records (the default)",
    "replace": "replace the table with this load's records",
    "merge": "merge on primary_key / merge_key, by a strategy",
    "skip": "load nothing",
}
# The keys of a write_disposition dict besides `disposition` and `strategy`, by strategy, as
# dlt's TypedDicts allow them (`None`: no strategy given; any disposition may name one).
MERGE_STRATEGIES: dict[str | None, dict[str, str]] = {
    None: {},
    "delete-insert": {
        "source_filter": "SQL condition selecting the merge source",
        "destination_scope": "SQL condition selecting the destination rows the merge may delete",
        "deduplicated": "deduplicate the staging data on the primary key",
    },
    "scd2": {
        "source_filter": "SQL condition selecting the merge source",
        "destination_scope": "SQL condition selecting the destination rows the merge may retire",
        "validity_column_names": "[from, to] column names",
        "active_record_timestamp": "validity end of active records (None: NULL)",
        "boundary_timestamp": "validity boundary of this load",
        "row_version_column_name": "column identifying a record version",
    },
    "upsert": {
        "source_filter": "SQL condition selecting the merge source",
        "skip_unchanged_rows": "do not update records equal to their loaded record",
        "row_version_column_name": "column compared with skip_unchanged_rows",
    },
    "insert-only": {},
    "cdc": {
        "source_filter": "SQL condition selecting the merge source",
        "destination_scope": "SQL condition selecting the destination rows the merge may delete",
        "skip_unchanged_rows": "do not update records equal to their loaded record",
        "row_version_column_name": "column compared with skip_unchanged_rows",
    },
}
DATA_TYPES: dict[str, str] = {
    "text": "string", "double": "float", "bool": "boolean", "timestamp": "date and time",
    "bigint": "integer", "binary": "bytes", "json": "nested data kept as JSON",
    "decimal": "exact decimal", "wei": "large integer (wei)", "date": "date", "time": "time of day",
}
# Names users write for dlt's data types (other tools', or dlt's older `complex`): a hint only,
# dlt accepts none of them.
DATA_TYPE_NAMES: dict[str, str] = {
    "string": "text", "str": "text", "varchar": "text", "integer": "bigint", "int": "bigint",
    "float": "double", "number": "double", "boolean": "bool", "datetime": "timestamp",
    "complex": "json", "object": "json", "array": "json", "bytes": "binary", "numeric": "decimal",
}
COLUMN: dict[str, str] = {
    "name": "column name (in a list of columns)",
    "data_type": "one of dlt's data types",
    "nullable": "bool", "precision": "integer", "scale": "integer", "timezone": "bool",
    "description": "text", "partition": "bool", "cluster": "bool", "unique": "bool", "sort": "bool",
    "primary_key": "bool", "row_key": "bool", "parent_key": "bool", "root_key": "bool",
    "merge_key": "bool", "variant": "bool", "hard_delete": "bool", "dedup_sort": "asc or desc",
    "incremental": "bool",
}
