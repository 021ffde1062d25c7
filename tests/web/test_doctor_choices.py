"""The doctors filter of the patient's invoice list: written once per patient and kept, the
same HTML as WTForms writes, and read again when the patient's invoices change."""

from wtforms import Form, SelectField

from portal.web.patient import doctor_choices
from tests.fixtures.clients import page


def _as_wtforms(choices, chosen):
    class Plain(Form):
        doctor = SelectField("Doctor", choices=choices, validate_choice=False)

    class Kept(Form):
        doctor = SelectField("Doctor", choices=[], validate_choice=False, widget=doctor_choices.KeptOptionsSelect())

    plain, kept = Plain(data={"doctor": chosen}), Kept(data={"doctor": chosen})
    kept.doctor.kept_options = tuple(doctor_choices._option(value, label) for value, label in choices)
    return str(plain.doctor()), str(kept.doctor())


def test_the_kept_options_are_written_as_wtforms_writes_them(app_ctx):
    choices = [("", "All"), ("3", "Dr <b>Bold</b> & \"Quoted\""), ("12", "Dr Élise Müller")]
    for chosen in (None, "", "3", "12", "99"):
        plain, kept = _as_wtforms(choices, chosen)
        assert kept == plain, chosen
    assert "<b>" not in _as_wtforms(choices, "3")[1]


def test_a_new_doctor_appears_in_the_filter_at_once(english_patient_client, people, make_doctor, make_invoice):
    patient, doctor = people["patient"], people["doctor"]
    make_invoice(patient, doctor)

    def names():
        shown = page(english_patient_client.get("/patient/invoices"))
        return [option.get_text() for option in shown.select("select#doctor option")]

    assert names() == names() == ["All", doctor.profile.name]  # the second one from the kept list
    other = make_doctor(name="Dr Anne Other")
    make_invoice(patient, other)
    assert names() == ["All", "Dr Anne Other", doctor.profile.name]
