"""The legal notice and the privacy notice say what the portal does, in three languages."""

from __future__ import annotations

import pytest

from portal.privacy import notice
from tests.fixtures.clients import page, text_of
from tests.web.test_pages import translated

LANGS = ["fr", "de", "en"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_legal_notice_shows_every_configured_detail_and_marks_placeholders(client, app, monkeypatch, lang):
    monkeypatch.setitem(app.config, "LEGAL_PHONE", "+352 27 57-1")
    monkeypatch.setitem(app.config, "LEGAL_DEMO_FIELDS", ["LEGAL_HOST"])
    response = client.get(f"/legal?lang={lang}")
    assert response.status_code == 200
    html = page(response)
    assert html.h1.get_text(strip=True) == translated("Legal notice", lang)
    rows = {dt.get_text(strip=True): " ".join(dt.find_next_sibling("dd").get_text(" ").split())
            for dt in html.select("dl.facts dt")}
    for setting, label in (("LEGAL_PUBLISHER", "Publisher"), ("LEGAL_ADDRESS", "Address"),
                           ("LEGAL_PHONE", "Telephone"), ("LEGAL_REGISTER", "Company or register number"),
                           ("LEGAL_HOST", "Host"), ("PUBLIC_CONTACT_EMAIL", "Contact")):
        assert app.config[setting] in rows[translated(label, lang)]
    demo = translated("demonstration value", lang)
    assert demo in rows[translated("Host", lang)] and demo not in rows[translated("Telephone", lang)]
    assert html.select_one(f'a[href="mailto:{app.config["PUBLIC_CONTACT_EMAIL"]}"]')


def test_every_page_links_the_legal_notice_and_the_configured_contact_in_its_footer(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_CONTACT_EMAIL", "ecrire@fund.example.lu")
    footer = page(client.get("/privacy")).select_one("footer")
    assert footer.select_one('a[href="/legal"]')
    assert footer.select_one('a[href="mailto:ecrire@fund.example.lu"]')


@pytest.mark.parametrize("lang", LANGS)
def test_the_privacy_notice_keeps_the_promises_of_the_terms(client, app, monkeypatch, lang):
    monkeypatch.setitem(app.config, "DPO_EMAIL", "dpo@fund.example.lu")
    monkeypatch.setitem(app.config, "DPO_ADDRESS", "Data Protection Officer, 1, rue Test, L-0000 Luxembourg")
    response = client.get(f"/privacy?lang={lang}")
    html, shown = page(response), text_of(response)
    assert html.select_one('a[href="mailto:dpo@fund.example.lu"]')
    assert "1, rue Test, L-0000 Luxembourg" in shown
    assert "dpo@portal.example.lu" not in shown
    # One statement of the legal bases: the legal mission (6(1)(c)/(e)) and consent (6(1)(a)).
    words = {
        "en": ("Article 6(1)(c) and (e)", "Article 6(1)(a)", "does not affect the lawfulness",
               "care provider who treated you", "lodge a complaint"),
        "fr": ("point a", "points c et e", "ne remet pas en cause la licéité",
               "prestataire de soins de santé qui vous a soigné", "introduire une réclamation"),
        "de": ("Buchstabe a", "Buchstaben c und e", "berührt nicht die Rechtmäßigkeit",
               "Leistungserbringer, der Sie behandelt hat", "Beschwerde einlegen"),
    }[lang]
    for phrase in words:
        assert phrase in shown, phrase
    assert html.select_one('a[href="https://cnpd.public.lu"]') and "15, boulevard du Jazz" in shown
    for name in ("portal_session", "portal_device"):
        assert name in shown


def test_the_privacy_notice_shows_its_version_date_and_history(client):
    shown = text_of(client.get("/privacy?lang=en"))
    newest = notice.current()
    assert f"Version {newest.number}, last updated on {newest.published_on:%-d %B %Y}." in shown
    for revision in notice.HISTORY:
        assert f"Version {revision.number}, {revision.published_on:%-d %B %Y}:" in shown
    assert newest.number == len(notice.HISTORY) and [r.number for r in notice.HISTORY] == sorted(
        r.number for r in notice.HISTORY)
