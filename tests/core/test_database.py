"""A row added in a savepoint: kept, or refused by a unique constraint without undoing the rest."""

from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from portal.core.database import add_unless_taken
from portal.extensions import db
from portal.models import Act


def _act(description: str) -> Act:
    return Act(code="ZZ99", key_letter="C", coefficient=Decimal("1.00"), fee_cents=100,
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
