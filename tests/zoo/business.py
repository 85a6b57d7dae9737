"""SaaS business APIs: CRM, support, messaging, payments, docs, marketing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .kit import Reply, Req, basic, bearer, case, chunk, denied, link, page_of, people

BEARER = "zoo-bearer-token"


def _bearer(req: Req, token: str = BEARER) -> bool:
    return bearer(req, token)


TICKETS = people(24, 3, subject=lambda i, rng: f"Printer on fire #{i}", tags=lambda i, rng: rng.sample(["vip", "bug", "sales"], i % 3),
                 via=lambda i, rng: {"channel": rng.choice(["email", "web"]), "source": {"rel": None}})


@case(notes="Zendesk: `next_page` absolute URL in the body (json_link), tickets envelope, basic auth email/token",
      config={"client": {"auth": {"type": "http_basic", "username": "agent@example.com/token", "password": "zd-zoo"}},
              "resources": [{"name": "tickets", "endpoint": {"path": "api/v2/tickets.json", "data_selector": "tickets",
                                                             "paginator": {"type": "json_link", "next_url_path": "next_page"}}}]})
def zendesk_tickets(req: Req) -> Any:
    if req.headers.get("Authorization") != basic("agent@example.com/token", "zd-zoo"):
        return denied()
    page = req.int_arg("page", 1)
    nxt = f"{req.base}api/v2/tickets.json?page={page + 1}" if page * 10 < len(TICKETS) else None
    return {"tickets": page_of(TICKETS, page, 10), "next_page": nxt, "previous_page": None, "count": len(TICKETS)}


@case(notes="Zendesk with no paginator: auto detection must take `next_page` as the next link (dlt's prefix match)",
      config={"client": {"auth": {"type": "http_basic", "username": "agent@example.com/token", "password": "zd-zoo"}},
              "resources": [{"name": "tickets", "endpoint": "api/v2/tickets.json"}]})
def zendesk_auto(req: Req) -> Any:
    return zendesk_tickets(req)


@case(notes="Zendesk cursor pagination: `meta.after_cursor` into `page[after]`, `meta.has_more` decides, links.next too",
      config={"client": {"auth": {"type": "bearer", "token": BEARER}},
              "resources": [{"name": "users", "endpoint": {
                  "path": "api/v2/users", "params": {"page[size]": 10}, "data_selector": "users",
                  "paginator": {"type": "cursor", "cursor_path": "meta.after_cursor", "cursor_param": "page[after]",
                                "has_more_path": "meta.has_more"}}}]})
def zendesk_cursor(req: Req) -> Any:
    if not _bearer(req):
        return denied()
    start, size = int(req.arg("page[after]", "x0")[1:]), req.int_arg("page[size]", 100)
    more = start + size < len(TICKETS)
    nxt = f"{req.base}api/v2/users?page[after]=x{start + size}&page[size]={size}" if more else None
    return {"users": chunk(TICKETS, start, size), "meta": {"has_more": more, "after_cursor": f"x{start + size}", "before_cursor": f"x{start}"},
            "links": {"next": nxt, "prev": None}}


CONTACTS = [{"id": str(501 + i), "createdAt": f"2024-01-{1 + i:02d}T08:00:00.000Z", "archived": False,
             "properties": {"firstname": f"F{i}", "lastname": f"L{i}", "email": f"c{i}@example.com", "hs_object_id": str(501 + i)}}
            for i in range(23)]


@case(notes="HubSpot CRM v3: `paging.next.after` cursor, `properties` as a repeated query key, archived=False",
      config={"client": {"auth": {"type": "bearer", "token": BEARER}},
              "resources": [{"name": "contacts", "endpoint": {
                  "path": "crm/v3/objects/contacts", "data_selector": "results",
                  "params": {"limit": 10, "properties": ["firstname", "lastname"], "archived": False},
                  "paginator": {"type": "cursor", "cursor_path": "paging.next.after", "cursor_param": "after"}}}]})
def hubspot_contacts(req: Req) -> Any:
    if not _bearer(req):
        return denied()
    if req.arg("archived") not in ("False", "false"):
        return Reply({"message": "archived must be a boolean"}, 400)
    start, size, wanted = req.int_arg("after", 0), req.int_arg("limit", 10), req.args("properties")
    rows = [{**c, "properties": {k: v for k, v in c["properties"].items() if k in wanted or k == "hs_object_id"}}
            for c in chunk(CONTACTS, start, size)]
    body: dict[str, Any] = {"results": rows}
    if start + size < len(CONTACTS):
        body["paging"] = {"next": {"after": str(start + size), "link": f"{req.base}crm/v3/objects/contacts?after={start + size}"}}
    return body


MEMBERS = people(26, 4, profile=lambda i, rng: {"real_name": f"Member {i}", "title": "" if i % 3 else "Eng", "image_24": None},
                 is_bot=lambda i, rng: i % 9 == 0)


@case(notes="Slack: `response_metadata.next_cursor` (base64), the empty string ends it, `ok` flag, members envelope",
      config={"client": {"auth": {"type": "bearer", "token": "xoxb-zoo"}},
              "resources": [{"name": "members", "endpoint": {
                  "path": "api/users.list", "params": {"limit": 10}, "data_selector": "members",
                  "paginator": {"type": "cursor", "cursor_path": "response_metadata.next_cursor", "cursor_param": "cursor"}}}]})
def slack_users(req: Req) -> Any:
    if not _bearer(req, "xoxb-zoo"):
        return {"ok": False, "error": "not_authed"}
    cursors = {"": 0, "dXNlcjpVMEc5V0ZYTlo=": 10, "dXNlcjpVMEc5V0ZYTmE=": 20}
    start, size = cursors[req.arg("cursor", "")], req.int_arg("limit", 100)
    nxt = {0: "dXNlcjpVMEc5V0ZYTlo=", 10: "dXNlcjpVMEc5V0ZYTmE="}.get(start, "")
    return {"ok": True, "members": chunk(MEMBERS, start, size), "cache_ts": 1700000000, "response_metadata": {"next_cursor": nxt}}


PRODUCTS = [{"id": 632910392 + i, "title": f"IPod Nano {i}", "vendor": "Apple", "status": "active", "tags": "",
             "variants": [{"id": 808950810 + 10 * i + j, "price": f"{199 + j}.00", "sku": f"IPOD{i}-{j}", "position": j + 1}
                          for j in range(i % 3)],
             "options": [{"name": "Color", "values": ["Pink", "Red"][: 1 + i % 2]}]} for i in range(17)]


@case(notes="Shopify: Link header with page_info cursor, rel=previous and rel=next in one line, X-Shopify-Access-Token",
      config={"client": {"auth": {"type": "api_key", "name": "X-Shopify-Access-Token", "api_key": "shpat_zoo"}},
              "resources": [{"name": "products", "endpoint": {"path": "admin/api/2024-01/products.json", "params": {"limit": 6},
                                                              "data_selector": "products", "paginator": "header_link"}}]})
def shopify_products(req: Req) -> Any:
    if req.headers.get("X-Shopify-Access-Token") != "shpat_zoo":
        return denied()
    start, size = int(req.arg("page_info", "cGFnZTow")[8:] or 0), req.int_arg("limit", 50)
    url = f"{req.base}admin/api/2024-01/products.json?limit={size}&page_info=cGFnZTow"
    rels = [link(url + str(start - size), "previous")] if start else []
    if start + size < len(PRODUCTS):
        rels.append(link(url + str(start + size), "next"))
    return Reply({"products": chunk(PRODUCTS, start, size)}, headers=[("Link", ", ".join(rels))] if rels else [])


PAGES = [{"object": "page", "id": f"59833787-2cf9-4fdf-8782-e53db20768{i:02d}", "created_time": f"2024-03-{1 + i:02d}T10:00:00.000Z",
          "archived": False, "properties": {"Name": {"id": "title", "type": "title",
                                                     "title": [{"type": "text", "plain_text": f"Page {i}", "annotations": {"bold": i % 2 == 0}}]}}}
         for i in range(13)]


@case(notes="Notion search: POST JSON body, `next_cursor` into the body's `start_cursor`, `has_more`, Notion-Version header",
      config={"client": {"auth": {"type": "bearer", "token": "secret_zoo"}, "headers": {"Notion-Version": "2022-06-28"}},
              "resources": [{"name": "pages", "endpoint": {
                  "path": "v1/search", "method": "POST", "data_selector": "results",
                  "json": {"filter": {"value": "page", "property": "object"}, "page_size": 5},
                  "paginator": {"type": "cursor", "cursor_path": "next_cursor", "cursor_body_path": "start_cursor",
                                "has_more_path": "has_more"}}}]})
def notion_search(req: Req) -> Any:
    if not _bearer(req, "secret_zoo") or req.headers.get("Notion-Version") != "2022-06-28":
        return denied()
    body = req.json()
    start, size = int(body.get("start_cursor") or 0), body["page_size"]
    more = start + size < len(PAGES)
    return {"object": "list", "results": chunk(PAGES, start, size), "next_cursor": str(start + size) if more else None,
            "has_more": more, "type": "page_or_database"}


ACCOUNTS = [{"attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/001{i:05d}"},
             "Id": f"001{i:05d}", "Name": f"Acme {i}", "AnnualRevenue": None if i % 3 else 1000.5 * i} for i in range(21)]


@case(notes="Salesforce SOQL: `nextRecordsUrl` a root-relative URL on another path, `done` flag, records envelope",
      config={"client": {"auth": {"type": "bearer", "token": BEARER}},
              "resources": [{"name": "accounts", "endpoint": {
                  "path": "services/data/v59.0/query", "params": {"q": "SELECT Id, Name, AnnualRevenue FROM Account"},
                  "data_selector": "records", "paginator": {"type": "json_link", "next_url_path": "nextRecordsUrl"}}}]})
def salesforce_query(req: Req) -> Any:
    if not _bearer(req):
        return denied()
    start = int(req.path.rsplit("-", 1)[1]) if "-" in req.path else 0
    nxt = start + 8 if start + 8 < len(ACCOUNTS) else None
    body: dict[str, Any] = {"totalSize": len(ACCOUNTS), "done": nxt is None, "records": chunk(ACCOUNTS, start, 8)}
    if nxt is not None:
        body["nextRecordsUrl"] = "/" + req.base.split("/", 3)[3] + f"services/data/v59.0/query/01gZOO-{nxt}"
    return body


MESSAGES = [{"sid": f"SM{i:032d}", "body": f"Hello {i} 👋", "status": "delivered", "num_segments": "1", "price": None if i % 2 else "-0.0075",
             "date_sent": f"Mon, {1 + i % 28:02d} Jan 2024 10:00:00 +0000"} for i in range(18)]


@case(notes="Twilio: `meta.next_page_url` absolute URL, PageSize, HTTP basic with Account SID and auth token",
      config={"client": {"auth": {"type": "http_basic", "username": "ACzoo", "password": "twilio-token"}},
              "resources": [{"name": "messages", "endpoint": {
                  "path": "2010-04-01/Accounts/ACzoo/Messages.json", "params": {"PageSize": 7}, "data_selector": "messages",
                  "paginator": {"type": "json_link", "next_url_path": "meta.next_page_url"}}}]})
def twilio_messages(req: Req) -> Any:
    if req.headers.get("Authorization") != basic("ACzoo", "twilio-token"):
        return denied()
    page, size = req.int_arg("Page", 0), req.int_arg("PageSize", 50)
    nxt = None
    if (page + 1) * size < len(MESSAGES):
        nxt = f"{req.base}2010-04-01/Accounts/ACzoo/Messages.json?PageSize={size}&Page={page + 1}&PageToken=PASM{(page + 1) * size}"
    return {"messages": page_of(MESSAGES, page, size, base=0), "meta": {"page": page, "page_size": size, "next_page_url": nxt}}


GRAPH_USERS = [{"id": f"87d349ed-44d7-43e1-9a83-5f2406dee5{i:02d}", "displayName": f"Adele {i}", "mail": None if i % 4 == 0 else f"a{i}@contoso.com",
                "businessPhones": [f"+1 425 555 01{i:02d}"] if i % 2 else []} for i in range(23)]


@case(notes="Microsoft Graph: `@odata.nextLink` with a $skiptoken, `value` envelope, $top/$select params",
      config={"client": {"auth": {"type": "bearer", "token": BEARER}},
              "resources": [{"name": "graph_users", "endpoint": {
                  "path": "v1.0/users", "params": {"$top": 10, "$select": "id,displayName,mail,businessPhones"}, "data_selector": "value",
                  "paginator": {"type": "json_link", "next_url_path": "'@odata.nextLink'"}}}]})
def msgraph_users(req: Req) -> Any:
    if not _bearer(req):
        return denied()
    start, size = int(req.arg("$skiptoken", "0")), req.int_arg("$top", 100)
    body: dict[str, Any] = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": chunk(GRAPH_USERS, start, size)}
    if start + size < len(GRAPH_USERS):
        body["@odata.nextLink"] = f"{req.base}v1.0/users?%24top={size}&%24select=id,displayName,mail,businessPhones&%24skiptoken={start + size}"
    return body


RECORDS = [{"id": f"rec{i:014d}", "createdTime": f"2024-05-{1 + i % 28:02d}T09:00:00.000Z",
            "fields": {"Name": f"Task {i}", "Status": "Done", "Estimate": i % 5 or None, "Tags": ["a", "b"][: i % 3]}} for i in range(22)]


@case(notes="Airtable: `offset` token (contains '/') as the cursor, `filterByFormula` with escaped braces `{{Status}}`",
      config={"client": {"auth": {"type": "bearer", "token": "patZOO"}},
              "resources": [{"name": "airtable_records", "endpoint": {
                  "path": "v0/appZOO/Tasks", "params": {"pageSize": 8, "filterByFormula": "{{Status}}='Done'"}, "data_selector": "records",
                  "paginator": {"type": "cursor", "cursor_path": "offset", "cursor_param": "offset"}}}]})
def airtable_records(req: Req) -> Any:
    if not _bearer(req, "patZOO"):
        return denied()
    if req.arg("filterByFormula") != "{Status}='Done'":
        return Reply({"error": {"type": "INVALID_FILTER_BY_FORMULA"}}, 422)
    start, size = int(req.arg("offset", "itr0/rec").split("/")[0][3:]), req.int_arg("pageSize", 100)
    body: dict[str, Any] = {"records": chunk(RECORDS, start, size)}
    if start + size < len(RECORDS):
        body["offset"] = f"itr{start + size}/rec{start + size:05d}"
    return body


MEETINGS = [{"uuid": f"aDYlohsHRtCd4ii1uC2+h{i}==", "id": 85746065000 + i, "topic": f"Standup {i}", "type": 2, "duration": 15 + i,
             "start_time": f"2024-06-{1 + i % 28:02d}T09:00:00Z", "agenda": "" if i % 2 else "daily"} for i in range(19)]


@case(notes="Zoom: `next_page_token`, the empty string ends it, page_size, meetings envelope with total_records",
      config={"client": {"auth": {"type": "bearer", "token": BEARER}},
              "resources": [{"name": "meetings", "endpoint": {
                  "path": "v2/users/me/meetings", "params": {"page_size": 8}, "data_selector": "meetings",
                  "paginator": {"type": "cursor", "cursor_path": "next_page_token", "cursor_param": "next_page_token"}}}]})
def zoom_meetings(req: Req) -> Any:
    if not _bearer(req):
        return denied()
    start, size = int(req.arg("next_page_token", "Tva2CuIdTgsv8wAnhyAdU3m06Y2HuLQtlh3") [35:] or 0), req.int_arg("page_size", 30)
    nxt = f"Tva2CuIdTgsv8wAnhyAdU3m06Y2HuLQtlh3{start + size}" if start + size < len(MEETINGS) else ""
    return {"page_size": size, "total_records": len(MEETINGS), "next_page_token": nxt, "meetings": chunk(MEETINGS, start, size)}


CHARGES = [{"id": f"ch_3Mtw{i:04d}", "object": "charge", "amount": 1000 + 37 * i, "currency": "usd", "paid": True,
            "refunded": i % 6 == 0, "metadata": {"order_id": str(6735 + i)} if i % 2 else {}, "created": 1680000000 + 3600 * i}
           for i in range(23)]


@case(notes="Stripe: `has_more` + `starting_after` = the last record's id (cursor_path `data[-1].id`)",
      config={"client": {"auth": {"type": "bearer", "token": "sk_test_zoo"}},
              "resources": [{"name": "charges", "endpoint": {
                  "path": "v1/charges", "params": {"limit": 10}, "data_selector": "data",
                  "paginator": {"type": "cursor", "cursor_path": "data[-1].id", "cursor_param": "starting_after",
                                "has_more_path": "has_more"}}}]})
def stripe_charges(req: Req) -> Any:
    if not _bearer(req, "sk_test_zoo"):
        return denied()
    after, size = req.arg("starting_after"), req.int_arg("limit", 10)
    start = next((i + 1 for i, c in enumerate(CHARGES) if c["id"] == after), 0)
    return {"object": "list", "url": "/v1/charges", "has_more": start + size < len(CHARGES), "data": chunk(CHARGES, start, size)}


EXPORT = [{"id": 9000 + i, "subject": f"Export {i}", "updated_at": f"2023-11-{1 + i:02d}T00:00:00Z"} for i in range(20)]


def _epoch(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp())


@case(notes="Zendesk incremental export: ISO cursor, `start_time` wants epoch seconds: `convert` in a placeholder param",
      config={"client": {"auth": {"type": "bearer", "token": BEARER}},
              "resources": [{"name": "ticket_export", "endpoint": {
                  "path": "api/v2/incremental/tickets.json", "params": {"start_time": "{incremental.start_value}"},
                  "data_selector": "tickets", "paginator": "single_page",
                  "incremental": {"cursor_path": "updated_at", "initial_value": "2023-11-08T00:00:00Z", "convert": _epoch}}}]})
def zendesk_incremental_convert(req: Req) -> Any:
    if not _bearer(req):
        return denied()
    since = req.arg("start_time", "")
    if not since.isdigit():
        return Reply({"error": "InvalidValue", "description": f"start_time must be an integer: {since}"}, 400)
    return {"tickets": [t for t in EXPORT if _epoch(t["updated_at"]) >= int(since)], "end_of_stream": True}


CONVERSATIONS = people(21, 5, custom_attributes=lambda i, rng: {"plan": rng.choice(["free", "pro"]), "seats": i % 4},
                       tags=lambda i, rng: {"type": "list", "data": [{"id": str(i % 3), "type": "tag"}] if i % 2 else []})


@case(notes="Intercom: `pages.next.starting_after` cursor, Intercom-Version header, nested list objects",
      config={"client": {"auth": {"type": "bearer", "token": BEARER}, "headers": {"Intercom-Version": "2.11"}},
              "resources": [{"name": "intercom_contacts", "endpoint": {
                  "path": "contacts", "params": {"per_page": 9}, "data_selector": "data",
                  "paginator": {"type": "cursor", "cursor_path": "pages.next.starting_after", "cursor_param": "starting_after"}}}]})
def intercom_contacts(req: Req) -> Any:
    if not _bearer(req) or req.headers.get("Intercom-Version") != "2.11":
        return denied()
    start, size = int(req.arg("starting_after", "WzE3MDAwMDAwMDAsMCwwXQ.0").rsplit(".", 1)[1]), req.int_arg("per_page", 50)
    pages: dict[str, Any] = {"type": "pages", "page": start // size + 1, "per_page": size}
    if start + size < len(CONVERSATIONS):
        pages["next"] = {"page": start // size + 2, "starting_after": f"WzE3MDAwMDAwMDAsMCwwXQ.{start + size}"}
    return {"type": "list", "data": chunk(CONVERSATIONS, start, size), "total_count": len(CONVERSATIONS), "pages": pages}


AUDIENCE = people(25, 6, merge_fields=lambda i, rng: {"FNAME": f"F{i}", "LNAME": "", "ADDRESS": "" if i % 2 else {"addr1": "1 Main St", "city": "X"}},
                  status=lambda i, rng: rng.choice(["subscribed", "unsubscribed"]))


@case(notes="Mailchimp: offset/count with `total_items`, HTTP basic with any user name and the API key, members envelope",
      config={"client": {"auth": {"type": "http_basic", "username": "anystring", "password": "mc-zoo-us21"}},
              "resources": [{"name": "mailchimp_members", "endpoint": {
                  "path": "3.0/lists/zoo/members", "data_selector": "members",
                  "paginator": {"type": "offset", "limit": 10, "offset_param": "offset", "limit_param": "count", "total_path": "total_items"}}}]})
def mailchimp_members(req: Req) -> Any:
    if req.headers.get("Authorization") != basic("anystring", "mc-zoo-us21"):
        return denied()
    start, size = req.int_arg("offset", 0), req.int_arg("count", 10)
    return {"members": chunk(AUDIENCE, start, size), "list_id": "zoo", "total_items": len(AUDIENCE), "_links": []}


DEALS = [{"id": i, "title": f"Deal {i}", "value": 100 * i, "currency": "EUR", "status": "open", "person_id": {"name": f"P{i}", "value": i}}
         for i in range(1, 33)]


@case(notes="Pipedrive: start/limit, `additional_data.pagination.more_items_in_collection` decides (pages are short: deleted deals "
            "are left out), api_token in the query",
      config={"client": {"auth": {"type": "api_key", "name": "api_token", "api_key": "pd-zoo", "location": "query"}},
              "resources": [{"name": "deals", "endpoint": {
                  "path": "v1/deals", "data_selector": "data",
                  "paginator": {"type": "offset", "limit": 10, "offset_param": "start", "limit_param": "limit", "total_path": None,
                                "has_more_path": "additional_data.pagination.more_items_in_collection"}}}]})
def pipedrive_deals(req: Req) -> Any:
    if req.arg("api_token") != "pd-zoo":
        return denied()
    start, size = req.int_arg("start", 0), req.int_arg("limit", 100)
    more = start + size < len(DEALS)
    pagination = {"start": start, "limit": size, "more_items_in_collection": more, **({"next_start": start + size} if more else {})}
    return {"success": True, "data": [d for d in chunk(DEALS, start, size) if d["id"] % 4], "additional_data": {"pagination": pagination}}


TASKS = [{"gid": str(1200000000 + i), "name": f"Task {i}", "completed": i % 3 == 0, "assignee": None if i % 2 else {"gid": "12", "name": "Kim"}}
         for i in range(24)]


@case(notes="Asana: `next_page.offset` cursor (next_page is null at the end), limit, opt_fields",
      config={"client": {"auth": {"type": "bearer", "token": BEARER}},
              "resources": [{"name": "asana_tasks", "endpoint": {
                  "path": "api/1.0/tasks", "params": {"project": "1200", "limit": 10, "opt_fields": "name,completed,assignee"},
                  "data_selector": "data", "paginator": {"type": "cursor", "cursor_path": "next_page.offset", "cursor_param": "offset"}}}]})
def asana_tasks(req: Req) -> Any:
    if not _bearer(req):
        return denied()
    start, size = int(req.arg("offset", "eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9.0").rsplit(".", 1)[1]), req.int_arg("limit", 20)
    nxt = None
    if start + size < len(TASKS):
        token = f"eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9.{start + size}"
        nxt = {"offset": token, "path": f"/tasks?limit={size}&offset={token}", "uri": f"{req.base}api/1.0/tasks?offset={token}"}
    return {"data": chunk(TASKS, start, size), "next_page": nxt}


BOARDS = [{"id": f"5abbe4b7ddc1b351ef96{i:04d}", "name": f"Board {i}", "closed": i == 3, "prefs": {"background": "blue", "voting": "disabled"},
           "labelNames": {"green": "", "red": "urgent"}, "memberships": [{"idMember": f"m{j}", "memberType": "normal"} for j in range(i % 3)]}
          for i in range(6)]


@case(notes="Trello: a plain list on one page (no paginator: auto -> single page), key and token in the query",
      config={"client": {"auth": {"type": "api_key", "name": "key", "api_key": "trello-key", "location": "query"}},
              "resources": [{"name": "boards", "endpoint": {"path": "1/members/me/boards", "params": {"token": "trello-token"}}}]})
def trello_boards(req: Req) -> Any:
    if req.arg("key") != "trello-key" or req.arg("token") != "trello-token":
        return Reply("invalid key", 401)
    return BOARDS


ENTRIES = [{"sys": {"id": f"5KsDBWseXY6QegucYAoacS{i}", "type": "Entry", "createdAt": f"2024-01-{1 + i % 28:02d}T00:00:00.000Z",
                    "contentType": {"sys": {"type": "Link", "linkType": "ContentType", "id": "blogPost"}}},
            "fields": {"title": {"en-US": f"Post {i}"}, "rating": {"en-US": i % 5}}} for i in range(23)]


@case(notes="Contentful: skip/limit offset with `total`, items envelope with `includes`, deeply nested sys objects",
      config={"client": {"auth": {"type": "bearer", "token": "cf-zoo"}},
              "resources": [{"name": "entries", "endpoint": {
                  "path": "spaces/zoo/environments/master/entries", "data_selector": "items",
                  "paginator": {"type": "offset", "limit": 10, "offset_param": "skip", "limit_param": "limit", "total_path": "total"}}}]})
def contentful_entries(req: Req) -> Any:
    if not _bearer(req, "cf-zoo"):
        return denied()
    skip, size = req.int_arg("skip", 0), req.int_arg("limit", 100)
    return {"sys": {"type": "Array"}, "total": len(ENTRIES), "skip": skip, "limit": size, "items": chunk(ENTRIES, skip, size),
            "includes": {"Asset": []}}


FORMS = [{"id": f"abc{i}", "title": f"Survey {i}", "last_updated_at": f"2024-02-{1 + i % 28:02d}T00:00:00Z",
          "settings": {"is_public": i % 2 == 0}, "_links": {"display": f"https://zoo.typeform.com/to/abc{i}"}} for i in range(23)]


@case(notes="Typeform: page/page_size page numbers from 1 with `page_count`, items envelope",
      config={"client": {"auth": {"type": "bearer", "token": "tfp_zoo"}},
              "resources": [{"name": "forms", "endpoint": {
                  "path": "forms", "params": {"page_size": 10}, "data_selector": "items",
                  "paginator": {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": "page_count"}}}]})
def typeform_forms(req: Req) -> Any:
    if not _bearer(req, "tfp_zoo"):
        return denied()
    page, size = req.int_arg("page", 1), req.int_arg("page_size", 10)
    return {"total_items": len(FORMS), "page_count": -(-len(FORMS) // size), "items": page_of(FORMS, page, size)}


LISTS = [{"id": f"ca7a3796-e8a8-4029-9ccb-df8937940{i:03d}", "name": f"List {i}", "contact_count": i * 11,
          "_metadata": {"self": f"https://api.sendgrid.com/v3/marketing/lists/{i}"}} for i in range(17)]


@case(notes="SendGrid: `_metadata.next` absolute URL (absent at the end), page_size/page_token, result envelope",
      config={"client": {"auth": {"type": "bearer", "token": "SG.zoo"}},
              "resources": [{"name": "contact_lists", "endpoint": {
                  "path": "v3/marketing/lists", "params": {"page_size": 6}, "data_selector": "result",
                  "paginator": {"type": "json_link", "next_url_path": "_metadata.next"}}}]})
def sendgrid_lists(req: Req) -> Any:
    if not _bearer(req, "SG.zoo"):
        return denied()
    start, size = req.int_arg("page_token", 0), req.int_arg("page_size", 100)
    meta: dict[str, Any] = {"self": f"{req.base}v3/marketing/lists?page_size={size}&page_token={start}", "count": len(LISTS)}
    if start + size < len(LISTS):
        meta["next"] = f"{req.base}v3/marketing/lists?page_size={size}&page_token={start + size}"
    return {"result": chunk(LISTS, start, size), "_metadata": meta}


FD_TICKETS = people(22, 7, custom_fields=lambda i, rng: {"cf_region": rng.choice(["eu", "us", None]), "cf_priority_score": i % 4})


@case(notes="Freshdesk: page/per_page with a Link rel=next header, HTTP basic with the API key and 'X'",
      config={"client": {"auth": {"type": "http_basic", "username": "fd-zoo-key", "password": "X"}},
              "resources": [{"name": "fd_tickets", "endpoint": {"path": "api/v2/tickets", "params": {"per_page": 10},
                                                                "paginator": "header_link"}}]})
def freshdesk_tickets(req: Req) -> Any:
    if req.headers.get("Authorization") != basic("fd-zoo-key", "X"):
        return denied()
    page, size = req.int_arg("page", 1), req.int_arg("per_page", 30)
    headers = [("Link", link(f"{req.base}api/v2/tickets?per_page={size}&page={page + 1}", "next"))] if page * size < len(FD_TICKETS) else []
    return Reply(page_of(FD_TICKETS, page, size), headers=headers)


POSTS = [{"id": i, "date": f"2024-03-{1 + i % 28:02d}T10:00:00", "slug": f"post-{i}", "title": {"rendered": f"Post &#8211; {i}"},
          "tags": [i % 5, i % 7][: i % 3], "sticky": i == 2} for i in range(1, 26)]


@case(notes="WordPress: page/per_page, X-WP-Total/X-WP-TotalPages headers only, HTTP 400 rest_post_invalid_page_number after "
            "the last page, ignored by a response action",
      config={"resources": [{"name": "posts", "endpoint": {
          "path": "wp-json/wp/v2/posts", "params": {"per_page": 10},
          "paginator": {"type": "page_number", "base_page": 1, "total_path": None},
          "response_actions": [{"status_code": 400, "action": "ignore"}]}}]})
def wordpress_posts(req: Req) -> Any:
    page, size = req.int_arg("page", 1), req.int_arg("per_page", 10)
    pages = -(-len(POSTS) // size)
    if page > pages:
        return Reply({"code": "rest_post_invalid_page_number", "data": {"status": 400}}, 400)
    return Reply(page_of(POSTS, page, size), headers=[("X-WP-Total", str(len(POSTS))), ("X-WP-TotalPages", str(pages))])


DOCS = [{"_id": f"nyt://article/{i}", "web_url": f"https://www.nytimes.com/2024/01/{i}.html", "pub_date": f"2024-01-{1 + i:02d}T05:00:00+0000",
         "headline": {"main": f"Election news {i}", "print_headline": None if i % 2 else f"Print {i}"},
         "keywords": [{"name": "subject", "value": "Elections", "rank": r} for r in range(1, 1 + i % 3)],
         "byline": {"original": f"By Writer {i}", "person": [{"firstname": "W", "lastname": str(i)}]}, "multimedia": []} for i in range(9)]


@case(notes="NYTimes article search: a deep envelope `response.docs`, api-key in the query, one page",
      config={"client": {"auth": {"type": "api_key", "name": "api-key", "api_key": "nyt-zoo", "location": "query"}},
              "resources": [{"name": "articles", "endpoint": {
                  "path": "svc/search/v2/articlesearch.json", "params": {"q": "election"}, "data_selector": "response.docs",
                  "paginator": "single_page"}}]})
def nytimes_articles(req: Req) -> Any:
    if req.arg("api-key") != "nyt-zoo":
        return Reply({"fault": {"faultstring": "Invalid ApiKey"}}, 401)
    return {"status": "OK", "copyright": "(c) zoo", "response": {"docs": DOCS, "meta": {"hits": len(DOCS), "offset": 0}}}
