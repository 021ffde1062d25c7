"""One button style: every button in the templates is a primary, secondary or warning `.button`,
or a `.link-button`, and the stylesheet defines each of them (its header comment says when to
use which)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
STYLESHEET = ROOT / "static" / "css" / "portal.css"
ALLOWED = {"button", "button secondary", "button warning", "link-button"}

BUTTON_TAG = re.compile(r"<button\b[^>]*>", re.S)
CLASS_ATTRIBUTE = re.compile(r'\bclass="([^"]*)"')
# WTForms submit fields rendered with a class: form.submit(class_="button secondary"), also
# `class_="button warning" if … else "button"`.
FIELD_CLASSES = re.compile(r'class_="([^"]*)"(?:\s+if\s[^}]*?else\s+"([^"]*)")?')
SUBMIT_FIELD = re.compile(r"\{\{\s*[\w.]+\.(submit|confirm|change|refuse|preview|add_line)\(([^)]*)\)\s*\}\}")


# A class written with a condition, class="button{% if offer %} secondary{% endif %}": both outcomes.
CONDITION = re.compile(r"\{%\s*if\b[^%]*%\}(.*?)\{%\s*endif\s*%\}")


def outcomes(classes: str) -> set[str]:
    return {CONDITION.sub(r"\1", classes), CONDITION.sub("", classes)}


def templates():
    return sorted(TEMPLATES.rglob("*.html"))


def test_every_button_tag_has_one_of_the_button_styles():
    problems = []
    for path in templates():
        for tag in BUTTON_TAG.findall(path.read_text(encoding="utf-8")):
            found = CLASS_ATTRIBUTE.search(tag)
            if found is None or not outcomes(found.group(1)) <= ALLOWED:
                problems.append(f"{path.relative_to(ROOT)}: {tag}")
    assert problems == []


def test_every_rendered_submit_field_has_one_of_the_button_styles():
    problems = []
    for path in templates():
        for _name, arguments in SUBMIT_FIELD.findall(path.read_text(encoding="utf-8")):
            found = FIELD_CLASSES.search(arguments)
            classes = [c for c in found.groups() if c] if found else []
            if not classes or any(c not in ALLOWED for c in classes):
                problems.append(f"{path.relative_to(ROOT)}: ({arguments})")
    assert problems == []


def test_links_that_look_like_buttons_use_the_same_classes():
    problems = []
    for path in templates():
        for tag in re.findall(r"<a\b[^>]*\bclass=\"[^\"]*\bbutton\b[^\"]*\"[^>]*>", path.read_text(encoding="utf-8")):
            if CLASS_ATTRIBUTE.search(tag).group(1) not in ALLOWED:
                problems.append(f"{path.relative_to(ROOT)}: {tag}")
    assert problems == []


def test_the_stylesheet_defines_each_variant_and_keeps_the_old_danger_name():
    css = STYLESHEET.read_text(encoding="utf-8")
    for selector in (".button.secondary", ".button.warning", ".button.danger", ".link-button", "button:not([class])"):
        assert selector in css, selector
    header = css[: css.index("*/")]
    for word in ("Type", "Spacing", "Widths", "Buttons", "Focus", "--measure-form", "--card", "warning"):
        assert word in header, f"the stylesheet's header comment does not describe {word}"
