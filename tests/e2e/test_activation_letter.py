"""The activation letter in three languages: the portal's address, the date, the practice and
a code in groups, on one printed A4 page; the patient types the code as people do."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from flask_babel import force_locale, gettext
from pypdf import PdfReader

from portal.core import clock, i18n
from tests.e2e.data import create_registry_patient
from tests.e2e.signing import path_of, wait_for_path

pytestmark = pytest.mark.e2e

LANGUAGES = ["fr", "de", "en"]
GROUPED = r"([0-9A-HJKMNP-TV-Z]{4}-){4}[0-9A-HJKMNP-TV-Z]{4}"


def _facts(page) -> dict[str, str]:
    return {dt.inner_text().strip(): dt.locator("xpath=following-sibling::dd[1]").inner_text().strip()
            for dt in page.locator("article.letter dt").all()}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_letter_says_where_when_who_and_the_code_and_the_typed_code_starts_activation(
        browser, live_server, signed_in, console, language):
    index = LANGUAGES.index(language)
    birth = date(1993, 5, 1 + index)
    matricule = create_registry_patient(live_server.app, f"Letter{language}", birth, 960 + index)
    doctor = signed_in("doctor")  # Dr Claire Weber, General practice
    doctor.goto(f"/doctor/activations?lang={language}&matricule={matricule}&birth_date={birth.isoformat()}")
    doctor.locator("#activation-check form").wait_for()
    assert doctor.locator("#language").input_value() == language  # the letter in the doctor's language
    doctor.fill("#document_last4", "CD34")
    doctor.fill("#mobile", "+352 621 000 333")
    doctor.check("#identity_checked")
    doctor.click("#activation-check #submit")
    doctor.locator("article.letter").wait_for()

    with live_server.app.test_request_context(), force_locale(language):
        today = i18n.date(clock.now(), "long")  # the portal's own style (tests/core/test_formats.py)
        labels = {name: gettext(name) for name in ("Issued on", "Issued by", "Activation page", "Your activation code")}
    facts = _facts(doctor)
    assert facts[labels["Issued on"]] == today
    assert facts[labels["Issued by"]] == "Dr Claire Weber, General practice"
    assert facts[labels["Activation page"]] == f"{live_server.url}/activate"
    typed = facts[labels["Your activation code"]]
    assert re.fullmatch(GROUPED, typed), typed
    assert doctor.locator("article.letter").get_attribute("lang") == language

    # Printed, the letter is one A4 page, and the page chrome is not on it.
    printed = PdfReader(io.BytesIO(doctor.pdf(format="A4", print_background=True)))
    assert len(printed.pages) == 1
    text = printed.pages[0].extract_text()
    assert typed in text and "Dr Claire Weber" in text
    on_screen_only = doctor.locator("p.flash-success").inner_text().strip()
    assert on_screen_only and on_screen_only[:40] not in " ".join(text.split())

    patient_context = browser.new_context(base_url=live_server.url)
    console.watch(patient_context)
    page = patient_context.new_page()
    page.goto(f"/activate?lang={language}")
    # As read over the phone: small letters, spaces for the hyphens, O for zero.
    page.fill("#code", "  " + typed.lower().replace("-", " ").replace("0", "o") + " ")
    page.click("#submit")
    wait_for_path(page, "/activate/continue")
    page.locator("#birth_date").wait_for()
    assert path_of(page) == "/activate/continue"
    patient_context.close()
