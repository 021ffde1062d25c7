"""The benchmark's X-Query-Count header: off by default, the statements a request ran when on."""

from tests.conftest import make_app


def test_no_query_count_header_by_default(client):
    assert "X-Query-Count" not in client.get("/healthz").headers


def test_the_header_counts_the_statements_of_the_request(app):
    counting = make_app(BENCH_COUNT_QUERIES=True)
    response = counting.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.headers["X-Query-Count"] == "1"  # SELECT 1, nothing else for a visitor
