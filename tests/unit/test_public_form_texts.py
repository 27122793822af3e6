"""The public form's texts live in gettext catalogues (services/intake/locale): both complete, none stale."""
from services.intake import web
from shared.i18n import catalogue_messages

SOURCES = [*web.SOURCE_TEXTS.values(), *web.SOURCE_LABELS.values(), *web.SOURCE_MESSAGES.values(),
           *web.SOURCE_API_DETAILS.values(), *web._AUTH_REASONS, *web.SOURCE_STATUS_WORDS.values()]


def test_every_source_text_has_a_dutch_and_an_english_entry_and_no_entry_is_stale():
    for lang in web.LANGUAGES:
        messages = catalogue_messages(web.LOCALE, lang)
        assert set(SOURCES) == set(messages), lang
        assert all(messages.values()), f"{lang}: an empty translation"


def test_the_english_catalogue_repeats_the_source_and_the_dutch_one_translates_it():
    assert web.TEXTS["en"]["submit"] == "Send report"
    assert web.TEXTS["nl"]["submit"] == "Melding versturen"
    assert web.CODE_LABELS["nl"]["woning"] == "woonadres"
    assert web.MESSAGES["required"] == {"nl": "Vul dit veld in.", "en": "Please fill in this field."}
    assert web.STATUS_WORDS["nl"]["doorverwezen"] == "doorverwezen naar politie"


def test_the_link_to_the_other_language_names_it_in_itself():
    assert (web.TEXTS["nl"]["other_lang_code"], web.TEXTS["nl"]["other_language"]) == ("en", "English")
    assert (web.TEXTS["en"]["other_lang_code"], web.TEXTS["en"]["other_language"]) == ("nl", "Nederlands")
