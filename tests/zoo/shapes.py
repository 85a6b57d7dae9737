"""Auto-detected paginators, parent/child, request bodies, auth flows and field types that drift between pages."""

from __future__ import annotations

from typing import Any

from .kit import Reply, Req, basic, bearer, case, chunk, denied, page_of, people

ROWS = people(23, 8, tier=lambda i, rng: rng.choice(["gold", "silver"]))


def _next(req: Req, path: str, start: int, size: int, total: int = len(ROWS)) -> str | None:
    return f"{req.base}{path}?offset={start + size}&limit={size}" if start + size < total else None


def _window(req: Req, default: int = 10) -> tuple[int, int]:
    return req.int_arg("offset", 0), req.int_arg("limit", default)


@case(notes="Spotify: href/items/limit/next/offset/previous/total, no paginator configured: auto finds `next`",
      config={"client": {"auth": {"type": "bearer", "token": "BQzoo"}}, "resources": [{"name": "playlists", "endpoint": "v1/me/playlists"}]})
def spotify_auto(req: Req) -> Any:
    if not bearer(req, "BQzoo"):
        return denied()
    start, size = _window(req)
    return {"href": req.base, "items": chunk(ROWS, start, size), "limit": size, "next": _next(req, "v1/me/playlists", start, size),
            "offset": start, "previous": None, "total": len(ROWS)}


@case(notes="Calendly: `collection` + `pagination.next_page` URL; auto detection matches `next_page` by prefix",
      config={"resources": [{"name": "scheduled_events", "endpoint": "scheduled_events"}]})
def calendly_auto(req: Req) -> Any:
    start, size = _window(req)
    return {"collection": chunk(ROWS, start, size),
            "pagination": {"count": size, "next_page": _next(req, "scheduled_events", start, size), "previous_page": None,
                           "next_page_token": None}}


@case(notes="Azure Resource Manager: `value` + `nextLink`; auto detection matches `nextLink` by prefix",
      config={"resources": [{"name": "resource_groups", "endpoint": {"path": "subscriptions/zoo/resourcegroups",
                                                                      "params": {"api-version": "2021-04-01"}}}]})
def azure_auto(req: Req) -> Any:
    start, size = _window(req)
    body: dict[str, Any] = {"value": chunk(ROWS, start, size)}
    if (nxt := _next(req, "subscriptions/zoo/resourcegroups", start, size)) is not None:
        body["nextLink"] = nxt + "&api-version=2021-04-01"
    return body


@case(notes="Polygon.io: `results` + `next_url` (auto, prefix match), apiKey in the query on every page",
      config={"client": {"auth": {"type": "api_key", "name": "apiKey", "api_key": "poly-zoo", "location": "query"}},
              "resources": [{"name": "tickers", "endpoint": "v3/reference/tickers"}]})
def polygon_auto(req: Req) -> Any:
    if req.arg("apiKey") != "poly-zoo":
        return denied()
    start, size = _window(req)
    body: dict[str, Any] = {"results": chunk(ROWS, start, size), "status": "OK", "request_id": "zoo", "count": size}
    if (nxt := _next(req, "v3/reference/tickers", start, size)) is not None:
        body["next_url"] = nxt
    return body


@case(notes="Vimeo: `paging.next` a root-relative URL, data envelope; auto detection",
      config={"resources": [{"name": "videos", "endpoint": "me/videos"}]})
def vimeo_auto(req: Req) -> Any:
    page = req.int_arg("page", 1)
    root = "/" + req.base.split("/", 3)[3]
    nxt = f"{root}me/videos?page={page + 1}" if page * 10 < len(ROWS) else None
    return {"total": len(ROWS), "page": page, "per_page": 10, "paging": {"next": nxt, "previous": None, "first": f"{root}me/videos?page=1"},
            "data": page_of(ROWS, page, 10)}


@case(notes="Squarespace: `pagination.nextPageCursor` (not a URL): auto detection picks the cursor paginator, param `cursor`",
      config={"resources": [{"name": "orders", "endpoint": "1.0/commerce/orders"}]})
def squarespace_auto(req: Req) -> Any:
    start = int(req.arg("cursor", "b0")[1:])
    more = start + 10 < len(ROWS)
    return {"result": chunk(ROWS, start, 10),
            "pagination": {"hasNextPage": more, "nextPageCursor": f"b{start + 10}" if more else None, "nextPageUrl": None}}


@case(notes="Spring Data REST (HAL): `_embedded.items` and `_links.next.href`; auto detection finds the nested href",
      config={"resources": [{"name": "hal_items", "endpoint": "api/items"}]})
def spring_hal_auto(req: Req) -> Any:
    page = req.int_arg("page", 0)
    links: dict[str, Any] = {"self": {"href": f"{req.base}api/items?page={page}&size=10"}}
    if (page + 1) * 10 < len(ROWS):
        links["next"] = {"href": f"{req.base}api/items?page={page + 1}&size=10"}
    return {"_embedded": {"items": page_of(ROWS, page, 10, base=0)}, "_links": links,
            "page": {"size": 10, "totalElements": len(ROWS), "totalPages": -(-len(ROWS) // 10), "number": page}}


@case(notes="Spring Data Pageable: `content` + `totalPages`, pages from 0; auto detection picks page numbers",
      config={"resources": [{"name": "pageable", "endpoint": "api/pageable"}]})
def spring_page_auto(req: Req) -> Any:
    page = req.int_arg("page", 0)
    return {"content": page_of(ROWS, page, 10, base=0), "totalPages": -(-len(ROWS) // 10), "totalElements": len(ROWS), "number": page,
            "size": 10, "first": page == 0, "last": (page + 1) * 10 >= len(ROWS)}


POKEMON = ["bulbasaur", "ivysaur", "venusaur", "charmander", "charmeleon", "charizard", "squirtle", "wartortle", "blastoise", "caterpie",
           "metapod", "butterfree"]


@case(notes="PokeAPI: `next` URL list of {name, url} -> one object per `pokemon/{name}` (a single-entity path)",
      config={"resources": [{"name": "pokemon_list", "endpoint": {"path": "api/v2/pokemon", "params": {"limit": 5}, "data_selector": "results",
                                                                 "paginator": {"type": "json_link", "next_url_path": "next"}}},
                            {"name": "pokemon", "endpoint": "api/v2/pokemon/{resources.pokemon_list.name}"}]})
def pokeapi(req: Req) -> Any:
    if req.path == "api/v2/pokemon":
        start, size = _window(req, 20)
        rows = [{"name": n, "url": f"https://pokeapi.co/api/v2/pokemon/{i + 1}/"} for i, n in enumerate(POKEMON)]
        nxt = f"{req.base}api/v2/pokemon?offset={start + size}&limit={size}" if start + size < len(rows) else None
        return {"count": len(rows), "next": nxt, "previous": None, "results": chunk(rows, start, size)}
    i = POKEMON.index(req.path.rsplit("/", 1)[1])
    return {"id": i + 1, "name": POKEMON[i], "height": 7 + i, "weight": 69 + i, "is_default": True,
            "abilities": [{"ability": {"name": f"a{j}", "url": "u"}, "is_hidden": j == 1, "slot": j + 1} for j in range(1 + i % 2)],
            "types": [{"slot": 1, "type": {"name": ["grass", "fire", "water", "bug"][i // 3]}}]}


TICKET_IDS = [{"id": 35436 + i, "subject": f"Help {i}"} for i in range(5)]


@case(notes="Zendesk comments via a legacy `resolve` param: `tickets/{ticket_id}/comments.json`, not sent as a query parameter",
      config={"resources": [{"name": "tickets", "endpoint": {"path": "tickets.json", "data_selector": "tickets", "paginator": "single_page"}},
                            {"name": "comments", "endpoint": {
                                "path": "tickets/{ticket_id}/comments.json", "data_selector": "comments", "paginator": "single_page",
                                "params": {"ticket_id": {"type": "resolve", "resource": "tickets", "field": "id"}}}}]})
def legacy_resolve(req: Req) -> Any:
    if req.path == "tickets.json":
        return {"tickets": TICKET_IDS}
    tid = int(req.path.split("/")[1])
    return {"comments": [{"id": tid * 10 + j, "body": f"Comment {j}", "public": j % 2 == 0} for j in range(tid % 3)]}


SEGMENTS = [{"id": 3 + i, "name": f"Segment {i}"} for i in range(4)]


@case(notes="Marketing API (Brevo/Marketo style): POST a JSON body naming the parent id; the whole-value placeholder stays an integer",
      config={"resources": [{"name": "segments", "endpoint": {"path": "segments", "paginator": "single_page"}},
                            {"name": "segment_contacts", "endpoint": {
                                "path": "contacts/query", "method": "POST", "paginator": "single_page",
                                "json": {"segment_id": "{resources.segments.id}", "label": "seg-{resources.segments.id}", "limit": 50}}}]})
def json_body_int_placeholder(req: Req) -> Any:
    if req.path == "segments":
        return SEGMENTS
    body = req.json()
    if not isinstance(body["segment_id"], int):
        return Reply({"code": "invalid_parameter", "message": "segment_id must be an integer"}, 400)
    return [{"email": f"s{body['segment_id']}-{j}@example.com", "label": body["label"]} for j in range(body["segment_id"] % 3 + 1)]


@case(notes="GitHub GraphQL: POST a query whose braces are escaped `{{ }}` in the config, nested nodes selector",
      config={"client": {"auth": {"type": "bearer", "token": "ghp_gql"}},
              "resources": [{"name": "gql_repos", "endpoint": {
                  "path": "graphql", "method": "POST", "paginator": "single_page", "data_selector": "data.viewer.repositories.nodes",
                  "json": {"query": "query {{ viewer {{ repositories(first: 10) {{ nodes {{ name stargazerCount }} }} }} }}"}}}]})
def github_graphql(req: Req) -> Any:
    if not bearer(req, "ghp_gql"):
        return denied()
    query = req.json()["query"]
    if "{{" in query:
        return Reply({"errors": [{"message": "Parse error on \"{\""}]}, 400)
    return {"data": {"viewer": {"repositories": {"nodes": [{"name": f"r{i}", "stargazerCount": i * 5} for i in range(6)]}}}}


def _drift(req: Req, page_rows: list[list[dict[str, Any]]]) -> Any:
    page = req.int_arg("page", 1)
    return {"data": page_rows[page - 1] if page <= len(page_rows) else [], "total_pages": len(page_rows)}


_PAGED = {"paginator": {"type": "page_number", "base_page": 1, "total_path": "total_pages"}, "data_selector": "data"}


@case(notes="CoinGecko-style prices: an integer on the first page, floats on the next (a variant column in dlt)",
      config={"resources": [{"name": "prices", "endpoint": {"path": "prices", **_PAGED}}]})
def drift_int_float(req: Req) -> Any:
    return _drift(req, [[{"id": i, "price": 100 + i} for i in range(5)], [{"id": i, "price": 100.25 + i} for i in range(5, 10)],
                        [{"id": 10, "price": 7}]])


@case(notes="A field null on every record of the first page, a string later (the column's type comes late)",
      config={"resources": [{"name": "late_strings", "endpoint": {"path": "late", **_PAGED}}]})
def drift_null_then_string(req: Req) -> Any:
    return _drift(req, [[{"id": i, "closed_at": None, "note": None} for i in range(4)],
                        [{"id": i, "closed_at": f"2024-01-0{i}T00:00:00Z", "note": f"n{i}"} for i in range(4, 8)]])


@case(notes="A nested object on some pages, null or missing on others (Jira `assignee`, GitHub `milestone`)",
      config={"resources": [{"name": "assigned", "endpoint": {"path": "assigned", **_PAGED}}]})
def drift_object_vs_null(req: Req) -> Any:
    return _drift(req, [[{"id": i, "assignee": None} for i in range(3)],
                        [{"id": i, "assignee": {"name": f"a{i}", "team": {"id": i % 2}}} for i in range(3, 6)],
                        [{"id": 6}, {"id": 7, "assignee": None}]])


ORDERS = [{"id": 700 + i, "status": "processing", "total": f"{10 * i}.50", "prices_include_tax": i % 2 == 0,
           "billing": {"first_name": "Zoë", "city": "Zürich"},
           **({"line_items": [{"id": 70000 + 10 * i + j, "quantity": j + 1,
                               "meta_data": [{"key": "size", "value": "L"}] if j % 2 else [], "taxes": []} for j in range(i % 3)]} if i % 4 else {}),
           "coupon_lines": []} for i in range(14)]


@case(notes="WooCommerce orders: nested lists two levels deep (child tables), empty lists, lists left out entirely, unicode",
      config={"client": {"auth": {"type": "http_basic", "username": "ck_zoo", "password": "cs_zoo"}},
              "resources": [{"name": "orders", "endpoint": {"path": "wp-json/wc/v3/orders", "params": {"per_page": 5},
                                                            "paginator": {"type": "page_number", "base_page": 1, "total_path": None,
                                                                          "maximum_page": 3}}}]})
def woocommerce_orders(req: Req) -> Any:
    if req.headers.get("Authorization") != basic("ck_zoo", "cs_zoo"):
        return denied()
    return page_of(ORDERS, req.int_arg("page", 1), req.int_arg("per_page", 10))


TITLES = ["Zürich", "São Paulo", "Ελλάδα", "東京", "New York City", "Ada Lovelace"]


@case(notes="Wikipedia REST: page summaries by title, the title (spaces, non-ASCII) in the path, percent-encoded",
      config={"resources": [{"name": "titles", "endpoint": {"path": "titles", "paginator": "single_page"}},
                            {"name": "summaries", "endpoint": "api/rest_v1/page/summary/{resources.titles.title}"}]})
def wikipedia_summaries(req: Req) -> Any:
    if req.path == "titles":
        return [{"title": t, "rank": i} for i, t in enumerate(TITLES)]
    title = req.path.rsplit("/", 1)[1]
    return {"title": title, "extract": f"{title} is a place ✓", "lang": "en", "coordinates": {"lat": 1.5, "lon": 2.25}}


@case(notes="Spotify-style OAuth2 client credentials: the token endpoint reads the client id and secret from the form body",
      config={"client": {"auth": {"type": "oauth2_client_credentials", "access_token_url": "zoo:api/token",
                                  "client_id": "cid-zoo", "client_secret": "csecret-zoo"}},
              "resources": [{"name": "artists", "endpoint": {"path": "v1/artists", "data_selector": "artists", "paginator": "single_page"}}]})
def oauth2_client_credentials(req: Req) -> Any:
    if req.path == "api/token":
        form = dict(pair.split("=", 1) for pair in req.body.decode().split("&") if "=" in pair)
        if form.get("client_id") != "cid-zoo" or form.get("client_secret") != "csecret-zoo" or form.get("grant_type") != "client_credentials":
            return Reply({"error": "invalid_client"}, 401)
        return {"access_token": "BQ-oauth-zoo", "token_type": "Bearer", "expires_in": 3600}
    if not bearer(req, "BQ-oauth-zoo"):
        return denied()
    return {"artists": [{"id": f"0TnOYISbd1XYRBk9myaseg{i}", "name": f"Artist {i}", "genres": ["pop"][: i % 2], "popularity": 50 + i}
                        for i in range(5)]}


@case(notes="A client-level paginator (Linear/GitLab configs set it once) with an endpoint saying `paginator: auto`",
      config={"client": {"paginator": {"type": "offset", "limit": 10, "total_path": "meta.total"}},
              "resources": [{"name": "client_paged", "endpoint": {"path": "things", "paginator": "auto", "data_selector": "data"}}]})
def endpoint_auto_uses_client_paginator(req: Req) -> Any:
    start, size = _window(req)
    return {"data": chunk(ROWS, start, size), "meta": {"total": len(ROWS)}}


@case(notes="Dropbox-style cursors: opaque base64 tokens that begin with '/' are parameters, not URLs",
      config={"resources": [{"name": "entries", "endpoint": {
          "path": "2/files/list_folder", "data_selector": "entries",
          "paginator": {"type": "cursor", "cursor_path": "cursor", "cursor_param": "cursor", "has_more_path": "has_more"}}}]})
def cursor_starting_with_slash(req: Req) -> Any:
    start = int(req.arg("cursor", "/AAE0").removeprefix("/AAE"))
    more = start + 10 < len(ROWS)
    return {"entries": chunk(ROWS, start, 10), "cursor": f"/AAE{start + 10}", "has_more": more}


FILES = [{"kind": "drive#file", "id": f"1a2b{i}", "name": f"doc {i}.txt", "mimeType": "text/plain"} for i in range(10)]


@case(notes="Google Drive: `nextPageToken`/`pageToken`; the last page leaves out the empty `files` list",
      config={"client": {"auth": {"type": "bearer", "token": "ya29.zoo"}},
              "resources": [{"name": "files", "endpoint": {
                  "path": "drive/v3/files", "params": {"pageSize": 5, "fields": "nextPageToken, files(id, name)"}, "data_selector": "files",
                  "paginator": {"type": "cursor", "cursor_path": "nextPageToken", "cursor_param": "pageToken"}}}]})
def google_drive_files(req: Req) -> Any:
    if not bearer(req, "ya29.zoo"):
        return denied()
    start = int(req.arg("pageToken", "~!!~0")[4:])
    rows = chunk(FILES, start, 5)
    body: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False}
    if rows:
        body.update(files=rows, nextPageToken=f"~!!~{start + 5}")
    return body


VIDEOS = [{"kind": "youtube#playlistItem", "etag": f"e{i}", "id": f"UExVVV{i}",
           "snippet": {"title": f"Clip {i}", "position": i, "thumbnails": {"default": {"url": f"https://i.ytimg.com/{i}.jpg", "width": 120}}}}
          for i in range(17)]


@case(notes="YouTube Data API: `items` + `nextPageToken`, maxResults, the API key as `key` in the query",
      config={"client": {"auth": {"type": "api_key", "name": "key", "api_key": "AIzaZoo", "location": "query"}},
              "resources": [{"name": "playlist_items", "endpoint": {
                  "path": "youtube/v3/playlistItems", "params": {"part": "snippet", "playlistId": "PLzoo", "maxResults": 6},
                  "data_selector": "items", "paginator": {"type": "cursor", "cursor_path": "nextPageToken", "cursor_param": "pageToken"}}}]})
def youtube_playlist_items(req: Req) -> Any:
    if req.arg("key") != "AIzaZoo":
        return Reply({"error": {"code": 403, "message": "API key not valid"}}, 403)
    start, size = int(req.arg("pageToken", "CAYQAA0")[6:]), req.int_arg("maxResults", 5)
    body: dict[str, Any] = {"kind": "youtube#playlistItemListResponse", "items": chunk(VIDEOS, start, size),
                            "pageInfo": {"totalResults": len(VIDEOS), "resultsPerPage": size}}
    if start + size < len(VIDEOS):
        body["nextPageToken"] = f"CAYQAA{start + size}"
    return body


@case(notes="OpenWeather current weather: one object, not a list (data_selector `$`), appid in the query",
      config={"client": {"auth": {"type": "api_key", "name": "appid", "api_key": "ow-zoo", "location": "query"}},
              "resources": [{"name": "weather", "endpoint": {"path": "data/2.5/weather", "params": {"q": "London", "units": "metric"},
                                                             "data_selector": "$", "paginator": "single_page"}}]})
def openweather_current(req: Req) -> Any:
    if req.arg("appid") != "ow-zoo":
        return Reply({"cod": 401, "message": "Invalid API key"}, 401)
    return {"coord": {"lon": -0.13, "lat": 51.51}, "weather": [{"id": 300, "main": "Drizzle", "description": "light intensity drizzle"}],
            "main": {"temp": 7.17, "pressure": 1012, "humidity": 81}, "visibility": 10000, "dt": 1485789600, "id": 2643743, "name": "London"}
