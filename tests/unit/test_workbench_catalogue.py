"""The workbench speaks Dutch, and English from its Babel catalogue: every text of its templates and
code is in both catalogues (services/workbench/locale), so no page shows a Dutch line in English."""
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from shared import vocabulary

from services.workbench import domain, labels, signal_pages, web, work_pages


def shown_texts() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(
            str(web.HERE), method_map=[("templates/**.html", "jinja2"), ("**.py", "python")],
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords={"_": None, "gettext": None}):
        found.add(message if isinstance(message, str) else message[0])
    found |= set(labels.all_texts()) | set(domain.MESSAGES.values()) | set(domain.NOTICES.values())
    found |= {label for _, label, _ in domain.NAVIGATION} | set(vocabulary.REFERRAL_OUTCOME_WORDS.values())
    for table in (signal_pages.KIND_LABELS, signal_pages.OUTCOME_LABELS, signal_pages.STATES,
                  work_pages.WORKLIST_VIEWS):
        found |= set(table.values())
    return {text for text in found if text}


def test_both_catalogues_hold_every_text_of_the_workbench():
    texts = shown_texts()
    assert len(texts) > 250
    for lang in web.LANGUAGES:
        with (web.CATALOGUES / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po)
        ids = {m.id for m in catalog if m.id}
        assert texts - ids == set(), lang
        assert all(m.string for m in catalog if m.id), lang


def test_a_page_in_english():
    assert web.gettext("en", "Zaken") == "Cases"
    html = web.render("en", "signed_out.html", visit=None, person=None, nav=[], csrf="", errors={}, role_name="")
    assert 'lang="en"' in html and "You are signed out" in html and "U bent afgemeld" not in html
