"""The template components every page builds on: the data table, the pager, the CSRF field and the confirmation panel."""

import pytest
from bs4 import BeautifulSoup
from flask_wtf.csrf import generate_csrf


@pytest.fixture
def render(app):
    """render(source, url, **context) → the parsed HTML of a template string, as a request to `url` sees it."""

    def rendered(source: str, url: str = "/", **context) -> BeautifulSoup:
        with app.test_request_context(url):
            html = app.jinja_env.from_string(source).render(**context)
        return BeautifulSoup(html, "html.parser")

    return rendered


TABLE = """{% from "components/table.html" import table %}
{% call(item) table(caption, columns, rows=rows, **options) %}<tr><th scope="row">{{ item.name }}</th><td class="num">{{ item.count }}</td></tr>{% endcall %}"""

ITEMS = [{"name": "Alpha", "count": 1}, {"name": "Beta", "count": 2}]


def test_a_table_has_its_caption_column_headers_and_the_rows_the_page_writes(render):
    html = render(TABLE, caption="Things <counted>", columns=["Name", ("Count", "num")], rows=ITEMS, options={})
    table = html.select_one("div.table-scroll > table")
    assert table.caption.get_text() == "Things <counted>" and not table.caption.get("class")
    headers = table.select("thead th")
    assert [(th.get_text(), th["scope"], th.get("class")) for th in headers] == [("Name", "col", None), ("Count", "col", ["num"])]
    assert [th.get_text() for th in table.select('tbody th[scope="row"]')] == ["Alpha", "Beta"]
    assert [td.get_text() for td in table.select("tbody td.num")] == ["1", "2"]
    assert table.tfoot is None


def test_a_table_caption_can_be_for_screen_readers_only_and_the_table_can_carry_a_class(render):
    html = render(TABLE, caption="Things", columns=["Name", "Count"], rows=ITEMS,
                  options={"caption_hidden": True, "class_": "queue", "scroll": False})
    assert html.select_one("table.queue > caption.visually-hidden").get_text() == "Things"
    assert html.select_one(".table-scroll") is None


def test_a_table_named_by_a_heading_has_no_caption(render):
    html = render(TABLE, caption=None, columns=["Name", "Count"], rows=ITEMS, options={"labelledby": "things-title"})
    table = html.select_one("table")
    assert table["aria-labelledby"] == "things-title" and table.caption is None


def test_an_empty_table_says_so_in_a_paragraph_or_in_one_row(render):
    html = render(TABLE, caption="Things", columns=["Name", "Count"], rows=[], options={"empty": "Nothing yet."})
    assert html.select_one("table") is None and html.select_one("p").get_text() == "Nothing yet."

    html = render(TABLE, caption="Things", columns=["Name", "Count"], rows=[], options={"empty": "Nothing yet.", "empty_row": True})
    cell = html.select_one("table tbody tr td")
    assert cell.get_text() == "Nothing yet." and cell["colspan"] == "2"

    html = render(TABLE, caption="Things", columns=["Name", "Count"], rows=[], options={})
    assert html.select_one("table thead") and not html.select("tbody tr")


def test_a_table_without_rows_lets_the_page_write_its_body_and_foot(render):
    source = """{% from "components/table.html" import table %}
{% set foot %}<tr><th scope="row">Total</th><td class="num">3</td></tr>{% endset %}
{% call table("Things", ["Name", ("Count", "num")], foot=foot) %}{% for item in items %}<tr><td>{{ loop.index }}</td></tr>{% endfor %}{% endcall %}"""
    html = render(source, items=ITEMS)
    assert [td.get_text() for td in html.select("tbody td")] == ["1", "2"]
    assert html.select_one('tfoot th[scope="row"]').get_text() == "Total"


PAGER = '{% from "components/pager.html" import pager %}{{ pager(endpoint, **options) }}'


def test_numbered_pages_keep_the_query_and_change_the_page(render):
    html = render(PAGER, "/patient/claims?page=2&sort=new", endpoint="patient.claims",
                  options={"page": 2, "has_next": True, "target": "#claim-rows"})
    previous, following = html.select("nav.pager a")
    assert previous["href"] == "/patient/claims?page=1&sort=new"
    assert following["href"] == following["hx-get"] == "/patient/claims?page=3&sort=new"
    assert following["hx-target"] == "#claim-rows" and following["hx-swap"] == "outerHTML" and following["hx-push-url"] == "true"
    assert html.select_one("nav.pager span")


def test_numbered_pages_without_a_target_are_plain_links_and_the_first_has_no_previous(render):
    html = render(PAGER, "/cns/data-requests", endpoint="cns.data_requests", options={"page": 1, "has_next": True})
    [following] = html.select("nav.pager a")
    assert following["href"] == "/cns/data-requests?page=2"
    assert not any(name.startswith("hx-") for name in following.attrs)


def test_keyset_pages_link_the_first_page_and_the_next_cursor(render):
    options = {"args": {"state": "shared"}, "cursor": ("after", "12:34"), "is_first": False,
               "labels": ("First", "Next"), "target": "#claim-queue"}
    html = render(PAGER, "/cns/claims?state=shared&after=1:2&stray=1", endpoint="cns.claims", options=options)
    first, following = html.select("nav.pager a")
    assert (first.get_text(), first["href"]) == ("First", "/cns/claims?state=shared")
    assert (following.get_text(), following["href"]) == ("Next", "/cns/claims?state=shared&after=12:34")
    assert following["hx-get"] == following["href"] and following["hx-target"] == "#claim-queue"
    assert html.select_one("nav.pager span") is None


def test_keyset_pages_show_only_the_links_that_lead_somewhere(render):
    options = {"args": {}, "cursor": ("before", "12:34"), "is_first": True, "labels": ("Newest", "Older")}
    [older] = render(PAGER, "/patient/my-data/access-log", endpoint="patient.access_log", options=options).select("nav.pager a")
    assert older["href"] == "/patient/my-data/access-log?before=12:34" and "hx-get" not in older.attrs

    options["cursor"] = ("before", None)
    assert render(PAGER, endpoint="patient.access_log", options=options).select_one("nav") is None

    options["is_first"] = False
    [newest] = render(PAGER, endpoint="patient.access_log", options=options).select("nav.pager a")
    assert newest["href"] == "/patient/my-data/access-log" and newest.get_text() == "Newest"


def test_the_csrf_field_carries_the_token_of_the_session(app):
    source = '{% from "components/forms.html" import csrf_field %}{{ csrf_field() }}'
    with app.test_request_context("/"):
        field = BeautifulSoup(app.jinja_env.from_string(source).render(), "html.parser").input
        assert (field["type"], field["name"], field["value"]) == ("hidden", "csrf_token", generate_csrf())


PANEL = """{% from "components/panel.html" import panel %}
{% call panel("done", title, **options) %}<p>What happens next.</p>{% endcall %}"""


def test_a_panel_has_its_heading_reference_body_and_takes_the_focus(render):
    html = render(PANEL, title="Sent <now>", options={"reference": "R-ABC"})
    box = html.select_one("div.panel#done")
    assert box["tabindex"] == "-1" and box["aria-labelledby"] == "done-title"
    assert box.has_attr("autofocus") and box.has_attr("data-focus-after-swap")  # page load, and htmx swap
    assert box.select_one("h2#done-title").get_text() == "Sent <now>"
    assert box.select_one(".panel-reference strong").get_text() == "R-ABC"
    assert box.select_one("p:last-child").get_text() == "What happens next."
    assert not box.has_attr("role")


def test_a_panel_shown_again_does_not_take_the_focus_and_can_be_the_page_heading(render):
    html = render(PANEL, title="Done", options={"focus": False, "level": 1, "role": "status"})
    box = html.select_one("div.panel")
    assert not box.has_attr("autofocus") and not box.has_attr("data-focus-after-swap")
    assert box.select_one("h1").get_text() == "Done" and box["role"] == "status"
    assert box.select_one(".panel-reference") is None
