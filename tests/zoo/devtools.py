"""Developer-tool APIs: GitHub, GitLab, Okta, Jira, Atlassian-style offsets, Discourse, Sentry-style links."""

from __future__ import annotations

from typing import Any

from .kit import Reply, Req, basic, bearer, case, chunk, denied, link, not_found, page_of, people

GH_TOKEN = "ghp_zoo0123456789"
ISSUES = people(25, 1, labels=lambda i, rng: [{"name": n} for n in rng.sample(["bug", "ui", "docs"], i % 3)],
                user=lambda i, rng: {"login": f"dev{i % 4}", "id": 100 + i % 4, "site_admin": i % 7 == 0})


def _github_page(req: Req, rows: list[Any], path: str, one_line: bool) -> Reply:
    if req.headers.get("Authorization") != f"Bearer {GH_TOKEN}":
        return denied()
    page, size = req.int_arg("page", 1), req.int_arg("per_page", 30)
    last = max(1, -(-len(rows) // size))
    url = f"{req.base}{path}?per_page={size}&state=all&page="
    rels = [link(url + "1", "first"), link(url + str(last), "last")]
    if page < last:
        rels.append(link(url + str(page + 1), "next"))
    headers = [("Link", ", ".join(rels))] if one_line else [("Link", rel) for rel in rels]
    return Reply(page_of(rows, page, size), headers=headers)


@case(notes="GitHub REST: list body, Link header (first, last, next in one line), per_page, bearer token",
      config={"client": {"auth": {"type": "bearer", "token": GH_TOKEN}},
              "resources": [{"name": "issues", "endpoint": {"path": "issues", "params": {"per_page": 10, "state": "all"},
                                                            "paginator": "header_link"}}]})
def github_issues(req: Req) -> Any:
    return _github_page(req, ISSUES, "issues", one_line=True)


@case(notes="Okta-style: the next link on its own Link header line, after rel=first and rel=last lines",
      config={"client": {"auth": {"type": "bearer", "token": GH_TOKEN}, "paginator": "header_link"},
              "resources": [{"name": "events", "endpoint": {"path": "events", "params": {"per_page": 10, "state": "all"}}}]})
def github_link_lines(req: Req) -> Any:
    return _github_page(req, ISSUES, "events", one_line=False)


@case(notes="GitHub: static params fill the path, `repos/{owner}/{repo}/issues`, and are not sent as query",
      config={"client": {"auth": {"type": "bearer", "token": GH_TOKEN}},
              "resources": [{"name": "repo_issues", "endpoint": {
                  "path": "repos/{owner}/{repo}/issues", "paginator": "header_link",
                  "params": {"owner": "dlt-hub", "repo": "dlt", "per_page": 10, "state": "all"}}}]})
def github_repo_path_params(req: Req) -> Any:
    if req.path != "repos/dlt-hub/dlt/issues" and bearer(req, GH_TOKEN):
        return not_found()
    return _github_page(req, ISSUES[:17], req.path, one_line=True)


REPOS = [{"id": 10 + i, "name": f"repo-{i}", "full_name": f"zoo/repo-{i}", "private": i % 2 == 0, "stargazers_count": i * 3}
         for i in range(7)]


@case(notes="GitHub: org repos (Link pages) -> each repo's issues, include_from_parent",
      config={"client": {"auth": {"type": "bearer", "token": GH_TOKEN}, "paginator": "header_link"},
              "resources": [{"name": "repos", "endpoint": {"path": "orgs/zoo/repos", "params": {"per_page": 3, "state": "all"}}},
                            {"name": "repo_issues", "include_from_parent": ["id", "full_name"],
                             "endpoint": {"path": "repos/zoo/{resources.repos.name}/issues", "params": {"per_page": 4, "state": "all"}}}]})
def github_parent_child(req: Req) -> Any:
    if req.path == "orgs/zoo/repos":
        return _github_page(req, REPOS, req.path, one_line=True)
    n = int(req.path.split("/")[2].removeprefix("repo-"))
    return _github_page(req, ISSUES[n:n + n], req.path, one_line=True)


@case(notes="GitHub: incremental with start_param `since`; the API filters on updated_at",
      config={"client": {"auth": {"type": "bearer", "token": GH_TOKEN}},
              "resources": [{"name": "issues", "endpoint": {
                  "path": "issues", "params": {"per_page": 10, "state": "all"}, "paginator": "header_link",
                  "incremental": {"start_param": "since", "cursor_path": "created_at", "initial_value": "2024-04-01T00:00:00Z"}}}]})
def github_incremental(req: Req) -> Any:
    since = req.arg("since", "")
    return _github_page(req, [r for r in ISSUES if r["created_at"] >= since], "issues", one_line=True)


PROJECTS = people(19, 2, path_with_namespace=lambda i, rng: f"group/project-{i}", star_count=lambda i, rng: rng.randint(0, 50))


@case(notes="GitLab: `X-Next-Page` header cursor (header_cursor), PRIVATE-TOKEN header key, X-Total headers",
      config={"client": {"auth": {"type": "api_key", "name": "PRIVATE-TOKEN", "api_key": "glpat-zoo"}},
              "resources": [{"name": "projects", "endpoint": {
                  "path": "api/v4/projects", "params": {"per_page": 8},
                  "paginator": {"type": "header_cursor", "cursor_key": "X-Next-Page", "cursor_param": "page"}}}]})
def gitlab_projects(req: Req) -> Any:
    if req.headers.get("PRIVATE-TOKEN") != "glpat-zoo":
        return denied()
    page, size = req.int_arg("page", 1), req.int_arg("per_page", 20)
    headers = [("X-Total", str(len(PROJECTS))), ("X-Page", str(page)), ("X-Per-Page", str(size))]
    if page * size < len(PROJECTS):
        headers.append(("X-Next-Page", str(page + 1)))
    return Reply(page_of(PROJECTS, page, size), headers=headers)


@case(notes="GitLab keyset pagination: Link rel=next carries id_after; pagination=keyset&order_by=id",
      config={"client": {"auth": {"type": "bearer", "token": "glpat-zoo"}},
              "resources": [{"name": "keyset_projects", "endpoint": {
                  "path": "api/v4/projects", "paginator": "header_link",
                  "params": {"pagination": "keyset", "order_by": "id", "sort": "asc", "per_page": 6}}}]})
def gitlab_keyset(req: Req) -> Any:
    if not bearer(req, "glpat-zoo"):
        return denied()
    after, size = req.int_arg("id_after", 0), req.int_arg("per_page", 20)
    rows = [r for r in PROJECTS if r["id"] > after][:size]
    headers = []
    if rows and rows[-1]["id"] < PROJECTS[-1]["id"]:
        nxt = f"{req.base}api/v4/projects?id_after={rows[-1]['id']}&order_by=id&pagination=keyset&per_page={size}&sort=asc"
        headers.append(("Link", link(nxt, "next")))
    return Reply(rows, headers=headers)


OKTA_USERS = [{"id": f"00u{i:04d}", "status": "ACTIVE" if i % 5 else "SUSPENDED", "created": f"2023-05-{1 + i % 28:02d}T10:00:00.000Z",
               "profile": {"login": f"u{i}@example.com", "firstName": f"U{i}", "mobilePhone": None if i % 2 else f"+1555{i:04d}"}}
              for i in range(22)]


@case(notes="Okta: `Authorization: SSWS <token>` header key, `after` cursor in a Link header, self and next on separate lines",
      config={"client": {"auth": {"type": "api_key", "name": "Authorization", "api_key": "SSWS 00zoo-okta"}},
              "resources": [{"name": "okta_users", "endpoint": {"path": "api/v1/users", "params": {"limit": 8},
                                                                "paginator": {"type": "header_link"}}}]})
def okta_users(req: Req) -> Any:
    if req.headers.get("Authorization") != "SSWS 00zoo-okta":
        return denied()
    after, size = req.arg("after", ""), req.int_arg("limit", 200)
    rows = [u for u in OKTA_USERS if u["id"] > after][:size]
    headers = [("Link", link(f"{req.base}api/v1/users?limit={size}", "self"))]
    if rows and rows[-1]["id"] != OKTA_USERS[-1]["id"]:
        headers.append(("Link", link(f"{req.base}api/v1/users?after={rows[-1]['id']}&limit={size}", "next")))
    return Reply(rows, headers=headers)


JIRA_ISSUES = [{"id": str(10000 + i), "key": f"ZOO-{i}", "fields": {
    "summary": f"Issue {i} ✓", "status": {"name": ["To Do", "In Progress", "Done"][i % 3]},
    "labels": ["backend", "urgent"][: i % 3], "storyPoints": None if i % 4 == 0 else i % 8}} for i in range(1, 28)]


@case(notes="Jira search: startAt/maxResults offset with `total`, HTTP basic (email + API token), issues envelope",
      config={"client": {"auth": {"type": "http_basic", "username": "me@example.com", "password": "jira-token"}},
              "resources": [{"name": "jira_issues", "endpoint": {
                  "path": "rest/api/3/search", "params": {"jql": "project = ZOO ORDER BY key"}, "data_selector": "issues",
                  "paginator": {"type": "offset", "limit": 10, "offset_param": "startAt", "limit_param": "maxResults",
                                "total_path": "total"}}}]})
def jira_search(req: Req) -> Any:
    if req.headers.get("Authorization") != basic("me@example.com", "jira-token"):
        return denied()
    start, size = req.int_arg("startAt", 0), req.int_arg("maxResults", 50)
    return {"expand": "names,schema", "startAt": start, "maxResults": size, "total": len(JIRA_ISSUES),
            "issues": chunk(JIRA_ISSUES, start, size)}


BOARDS = [{"id": i, "name": f"Board {i}", "type": "scrum" if i % 2 else "kanban", "location": {"projectKey": f"P{i % 3}"}}
          for i in range(1, 24)]


@case(notes="Jira Agile boards: startAt/maxResults offset, `isLast` instead of a total. dlt asks for the "
            "empty page after the short one; sluice stops at the short page (docs/migrating-from-dlt.md)",
      config={"client": {"auth": {"type": "http_basic", "username": "me@example.com", "password": "jira-token"}},
              "resources": [{"name": "boards", "endpoint": {
                  "path": "rest/agile/1.0/board", "data_selector": "values",
                  "paginator": {"type": "offset", "limit": 10, "offset_param": "startAt", "limit_param": "maxResults",
                                "total_path": None}}}]},
      dlt_only=("GET rest/agile/1.0/board?startAt=30&maxResults=10",))  # sluice: a short page ends an offset chain
def jira_agile_boards(req: Req) -> Any:
    if req.headers.get("Authorization") != basic("me@example.com", "jira-token"):
        return denied()
    start, size = req.int_arg("startAt", 0), req.int_arg("maxResults", 50)
    rows = chunk(BOARDS, start, size)
    return {"maxResults": size, "startAt": start, "isLast": start + size >= len(BOARDS), "values": rows}


JIRA_PROJECTS = [{"id": str(i), "key": f"P{i}", "name": f"Project {i}", "archived": i % 3 == 0} for i in range(1, 9)]


@case(notes="Jira: projects filtered by processing_steps (archived out) -> versions only of the kept projects",
      config={"client": {"auth": {"type": "http_basic", "username": "me@example.com", "password": "jira-token"}},
              "resources": [{"name": "projects", "endpoint": {"path": "rest/api/3/project", "paginator": "single_page"},
                             "processing_steps": [{"filter": lambda p: not p["archived"]}]},
                            {"name": "versions", "endpoint": {"path": "rest/api/3/project/{resources.projects.key}/versions",
                                                              "paginator": "single_page"}}]})
def jira_filtered_parents(req: Req) -> Any:
    if req.headers.get("Authorization") != basic("me@example.com", "jira-token"):
        return denied()
    if req.path == "rest/api/3/project":
        return JIRA_PROJECTS
    key = req.path.split("/")[4]
    return [{"id": f"{key}-v{j}", "name": f"{j}.0", "released": j % 2 == 0, "projectKey": key} for j in range(1, 3)]


TOPICS = [{"id": i, "title": f"Topic {i}", "posts_count": i % 9 + 1, "pinned": i == 1, "tags": ["help"] if i % 4 == 0 else [],
           "last_posted_at": f"2024-02-{1 + i % 28:02d}T12:00:00.000Z"} for i in range(1, 26)]


@case(notes="Discourse: `topic_list.more_topics_url` a root-relative next URL with another path, Api-Key + Api-Username headers",
      config={"client": {"auth": {"type": "api_key", "name": "Api-Key", "api_key": "disc-zoo"}, "headers": {"Api-Username": "system"}},
              "resources": [{"name": "topics", "endpoint": {
                  "path": "latest.json", "data_selector": "topic_list.topics",
                  "paginator": {"type": "json_link", "next_url_path": "topic_list.more_topics_url"}}}]})
def discourse_latest(req: Req) -> Any:
    if req.headers.get("Api-Key") != "disc-zoo" or req.headers.get("Api-Username") != "system":
        return denied()
    page = req.int_arg("page", 0)
    topic_list: dict[str, Any] = {"can_create_topic": True, "per_page": 10, "topics": page_of(TOPICS, page, 10, base=0)}
    if (page + 1) * 10 < len(TOPICS):
        topic_list["more_topics_url"] = f"{_root(req)}latest?no_definitions=true&page={page + 1}"
    return {"users": [{"id": 1, "username": "system"}], "topic_list": topic_list}


def _root(req: Req) -> str:
    """The case's mount point as a root-relative path ('/<case>/')."""
    return "/" + req.base.split("/", 3)[3]
