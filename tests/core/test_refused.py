"""The one error contract: domain errors, and the one place that puts them on a form."""

import pytest
from werkzeug.exceptions import BadRequest
from wtforms import FieldList, FormField, IntegerField, StringField
from wtforms import Form as PlainForm
from wtforms.validators import DataRequired

from portal.claims.states import ClaimConflict
from portal.core.forms import BaseForm, attach, require_valid
from portal.core.refused import Conflict, DomainError, NotAllowed, Problem, Refused


class _Line(PlainForm):
    code = StringField()
    quantity = IntegerField()


class _Form(BaseForm):
    class Meta:
        csrf = False

    amount = StringField()
    lines = FieldList(FormField(_Line), min_entries=2)


def test_the_hierarchy():
    assert issubclass(Refused, DomainError) and issubclass(Refused, ValueError)
    assert issubclass(Conflict, DomainError) and issubclass(NotAllowed, DomainError)
    assert issubclass(ClaimConflict, Conflict)
    changed = ClaimConflict(7, message="changed")
    assert (changed.subject_id, changed.message) == (7, "changed")
    assert ClaimConflict(7).message is None


def test_refused_keeps_problems_by_field_and_in_order():
    refused = Refused("first", Problem(2, "iban", "not a valid IBAN"), Problem(1, None, "empty"),
                      fields={"amount": ["too much"]})
    assert refused.problems == ["first", "line 1: empty", "line 2, column iban: not a valid IBAN", "too much"]
    assert str(refused) == "\n".join(refused.problems)
    assert refused.fields["amount"] == ["too much"]
    assert Refused.on("note", "Explain.").field == "note"
    assert Refused.on("note", "Explain.").fields == {"note": ["Explain."]}


def test_attach_puts_each_problem_on_its_field(app):
    with app.test_request_context(method="POST", data={"amount": "12", "lines-1-code": "C1"}):
        form = _Form()
        form.validate()
        attach(form, Refused("Something else.", fields={
            "amount": ["Too much."], "lines-1-quantity": ["Enter a quantity."], "nowhere": ["Lost?"],
        }))
        assert form.amount.errors == ["Too much."]
        assert form.lines[1].quantity.errors == ["Enter a quantity."]
        assert form.lines.errors == [{"quantity": ["Enter a quantity."]}]
        assert form.form_errors == ["Something else.", "Lost?"]
        assert form.lines[0].code.errors == []


class _Choice(BaseForm):
    class Meta:
        csrf = False

    choice = StringField(validators=[DataRequired()])


def test_require_valid_answers_400_for_a_form_that_fails(app):
    with app.test_request_context(method="POST", data={}), pytest.raises(BadRequest):
        require_valid(_Choice())
    with app.test_request_context(method="POST", data={"choice": "yes"}):
        form = require_valid(_Choice())
        assert form.choice.data == "yes"


def test_attach_puts_problems_without_a_field_where_the_view_says(app):
    with app.test_request_context(method="POST", data={"amount": "12"}):
        form = _Form()
        form.validate()
        attach(form, Refused("Not a valid code.", fields={"lines-0-code": ["Unknown act."]}), field="amount")
        assert form.amount.errors == ["Not a valid code."]
        assert form.lines[0].code.errors == ["Unknown act."]
        assert form.form_errors == []
