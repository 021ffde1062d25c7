"""The benchmark's X-Query-Count header: off by default, the statements a request ran when on."""

from portal import maintenance
from tests.conftest import make_app


def test_no_query_count_header_by_default(client):
    assert "X-Query-Count" not in client.get("/healthz").headers


def test_the_header_counts_the_statements_of_the_request(app):
    counting = make_app(BENCH_COUNT_QUERIES=True)
    client = counting.test_client()
    maintenance.forget()  # as in a process that just started
    first = client.get("/healthz")
    assert first.status_code == 200
    assert first.headers["X-Query-Count"] == "2"  # the maintenance windows, read once, and SELECT 1
    again = client.get("/healthz")
    assert again.headers["X-Query-Count"] == "1"  # SELECT 1, nothing else for a visitor
