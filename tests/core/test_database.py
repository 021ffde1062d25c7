"""A row added in a savepoint: kept, or refused by a unique constraint without undoing the rest."""

from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from portal.core.database import add_unless_taken, one_page, requested_page
from portal.extensions import db
from portal.models import Act


def _act(description: str, code: str = "ZZ99") -> Act:
    return Act(code=code, key_letter="C", coefficient=Decimal("1.00"), fee_cents=100,
               effective_from=date(1999, 1, 1), category="test", description_en=description,
               description_fr=description, description_de=description)


def test_a_new_row_is_added():
    act = _act("first")
    assert add_unless_taken(act) is None
    assert act.id is not None


def test_a_taken_row_answers_the_clash_and_keeps_what_came_before():
    first = _act("first")
    add_unless_taken(first)
    clash = add_unless_taken(_act("second"))
    assert isinstance(clash, IntegrityError)
    assert db.session.scalars(db.select(Act.description_en).where(Act.code == "ZZ99")).all() == ["first"]


def test_one_page_reads_one_row_more_to_know_whether_a_next_page_follows():
    for number in range(5):
        db.session.add(_act("paged", code=f"ZZ9{number}"))
    db.session.flush()
    query = db.select(Act.code).where(Act.description_en == "paged").order_by(Act.code)
    assert one_page(query, 1, 2) == (["ZZ90", "ZZ91"], True)
    assert one_page(query, 3, 2) == (["ZZ94"], False)
    assert one_page(query, 2, 3) == (["ZZ93", "ZZ94"], False)


def test_the_requested_page_is_read_from_the_address_and_a_malformed_one_is_the_first(app):
    for number in range(5):
        db.session.add(_act("asked", code=f"ZZ9{number}"))
    db.session.flush()
    query = db.select(Act.code).where(Act.description_en == "asked").order_by(Act.code)
    with app.test_request_context("/?page=2"):
        assert requested_page(query, 2) == {"rows": ["ZZ92", "ZZ93"], "page": 2, "has_next": True}
    with app.test_request_context("/?page=²"):
        assert requested_page(query, 4) == {"rows": ["ZZ90", "ZZ91", "ZZ92", "ZZ93"], "page": 1, "has_next": True}
