"""The API zoo: every case's configuration through dlt 1.31 and through sluice, tables and requests compared.

dlt is the oracle. A case marked xfail names the issue 9 item sluice still differs on; the mark is
strict, so it must go once that item is fixed. See tests/zoo/__init__.py to add a case.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apis import Server
from zoo import CASES, Case, Zoo, compare


@pytest.fixture(scope="module")
def zoo() -> Iterator[Zoo]:
    served = Zoo()
    with Server(served.app()) as server:
        served.origin = server.url
        yield served


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES.values()])
def test_same_as_dlt(case: Case, zoo: Zoo, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.chdir(tmp_path)
    problems = compare(case, zoo, tmp_path)
    assert not problems, f"{case.name} ({case.notes}):\n" + "\n".join(problems)


def test_the_zoo_is_big_enough() -> None:
    assert len(CASES) >= 40


def test_the_comparison_sees_differences() -> None:
    """The harness itself: a type, the column order, a row, a missing table, a repeated and a missing request are all reported."""
    from zoo.compare import Table, request_problems, table_problems
    from zoo.kit import Sent

    theirs = {"t": Table({"id": "bigint", "v": "double"}, ["{'id': 1}", "{'id': 2}"]), "t__kids": Table({"x": "text"}, [])}
    ours = {"t": Table({"id": "bigint", "v": "text"}, ["{'id': 1}", "{'id': 3}"])}
    problems = "\n".join(table_problems(theirs, ours))
    assert "dlt only ['t__kids']" in problems and "column v: dlt double, sluice text" in problems
    assert "dlt only:    {'id': 2}" in problems and "sluice only: {'id': 3}" in problems
    reordered = table_problems({"t": Table({"id": "bigint", "v": "text"}, [])}, {"t": Table({"v": "text", "id": "bigint"}, [])})
    assert reordered == ["table t: column order: dlt ['id', 'v'], sluice ['v', 'id']"]
    page = Sent("GET", "/c/items?b=2&a=1", {}, b"")
    assert request_problems(CASES["github_issues"], [page, Sent("GET", "/c/items?a=2", {}, b"")], [page, Sent("GET", "/c/items?a=1&b=2", {}, b"")]) == [
        "sluice sent 2x: GET /c/items ?{'a': '1', 'b': '2'}", "request only dlt sent: GET /c/items ?{'a': '2'}"]


AUTHED = [c for c in CASES.values() if "auth" in c.config.get("client", {}) and c.config["client"]["auth"]["type"] != "oauth2_client_credentials"]


@pytest.mark.parametrize("case", AUTHED, ids=[c.name for c in AUTHED])
def test_mocks_refuse_a_request_without_credentials(case: Case) -> None:
    """A mock that checks its auth is what makes an auth difference show up as a failed run."""
    from multidict import CIMultiDict
    from zoo.kit import Reply, Req

    endpoint = case.config["resources"][0]["endpoint"]
    path = endpoint if isinstance(endpoint, str) else endpoint["path"]
    reply = case.handler(Req("GET", path, (), CIMultiDict(), b'{"page_size": 1}', "http://127.0.0.1:1/x/"))
    assert (isinstance(reply, Reply) and reply.status in (401, 403)) or reply == {"ok": False, "error": "not_authed"}
