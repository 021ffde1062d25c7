"""Field pieces every blueprint's forms use: a box to tick, a text to write."""

from portal.core.forms import BaseForm, ticked, written


def test_a_ticked_box_and_a_written_text_are_required_and_bounded(app):
    class _Ask(BaseForm):
        class Meta:
            csrf = False

        agreed = ticked("Agreed", "Tick it.")
        text = written("Text", missing="Write it.", max_length=5, too_long="Too long.", description="Short.")

    with app.test_request_context(method="POST", data={"text": "toolong"}):
        form = _Ask()
        assert not form.validate()
        assert form.agreed.errors == ["Tick it."]
        assert form.text.errors == ["Too long."]
        assert form.text.description == "Short."
    with app.test_request_context(method="POST", data={"agreed": "y", "text": "fine"}):
        assert _Ask().validate()
