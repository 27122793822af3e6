"""shared/dutch_phrases.py: lemmas, separable verbs, phrases across words, negation, retraction,
earlier incidents, jokes taken as jokes, harm aimed at someone else, punctuation and case — the
language under the triage rules."""
from __future__ import annotations


import pytest

from shared.dutch_phrases import PatternError, analyse, compile_pattern

LEXICON = {"wapen": ["mes", "pistool", "vuurwapen", "knuppel", "brandende fles", "vuurwerkbom"],
           "nu": ["nu", "onderweg", "vanavond", "kom eraan"]}


def found(pattern: str, text: str) -> str | None:
    """The words of the first counting match, or None."""
    hit = compile_pattern(pattern, LEXICON).first(analyse(text))
    return hit.words if hit else None


def scope(pattern: str, text: str) -> str | None:
    """The scope of the first match ('' counts), or None for no match at all."""
    hits = compile_pattern(pattern, LEXICON).hits(analyse(text))
    return hits[0].scope if hits else None


@pytest.mark.parametrize("pattern, text", [
    ("dreigen", "Een bezoeker dreigde mij iets aan te doen"),
    ("dreigen", "Hij dreigt al weken"),
    ("bedreigen", "Ik ben bedreigd door een klant"),
    ("bedreigen", "Hij bedreigde de wethouder"),
    ("dreigement", "Er kwamen dreigementen binnen"),
    ("slaan", "Hij sloeg mij"),
    ("slaan", "Ik ben geslagen"),
    ("duwen", "De man duwde mij tegen de muur"),
    ("duwen", "Ik werd geduwd"),
    ("grijpen", "Hij greep mij bij mijn keel"),
    ("uitschelden", "Ik werd uitgescholden"),
    ("mes", "Hij had twee messen bij zich"),
    ("kind", "Denk aan je kinderen"),
])
def test_inflections_meet_one_lemma(pattern, text):
    assert found(pattern, text)


@pytest.mark.parametrize("pattern, text, words", [
    ("neersteken", "Een man belde dat hij nu met een mes onderweg is om de burgemeester neer te steken",
     "neer … steken"),
    ("neersteken", "Ik steek je morgen met een mes neer", "steek … neer"),
    ("neersteken", "Ik kom je neersteken", "neersteken"),
    ("neersteken", "Hij is vorige week bijna neergestoken", "neergestoken"),
    ("afmaken", "Ik maak je af", "maak … af"),
    ("afmaken", "Ze gaan je afmaken", "afmaken"),
    ("ophangen", "Ze zouden hem op moeten hangen", "op … hangen"),
    ("uitschelden", "Hij schold me uit voor alles", "schold … uit"),
])
def test_separable_verbs_match_split_and_joined(pattern, text, words):
    assert found(pattern, text) == words


def test_a_particle_in_another_sentence_does_not_complete_a_verb():
    assert found("afmaken", "Ik maak het rapport. Af en toe bel ik hem.") is None


@pytest.mark.parametrize("pattern, text, words", [
    ("inslaan", "Hij sloeg me met de vlakke hand in het gezicht", None),
    ("inslaan", "De vader sloeg zijn vrouw in de wachtkamer", None),
    ("inslaan", "Ze sloegen met een fietsslot de achterruit in", "sloegen … in"),
    ("inslaan", "Iemand heeft de ruit ingeslagen", "ingeslagen"),
    ("inslaan", "Hij dreigde de ruit in te slaan", "in … slaan"),
    ("omgooien", "Hij gooide het kraampje om", "gooide … om"),
    ("omgooien", "Hij gooide een stoel om de hoek", None),
    ("afmaken", "Ik maak je af de volgende keer", "maak … af"),   # af is no preposition
])
def test_a_particle_that_opens_a_phrase_is_a_preposition(pattern, text, words):
    """Since vr19-2026.16: *in, op, aan, uit, door, over, om* after the verb and before an article or a possessive
    open a phrase ("in het gezicht"), so they do not complete a separable verb; before the verb or at the end of the
    clause they still do."""
    assert found(pattern, text) == words


@pytest.mark.parametrize("pattern, text", [
    ("te grazen nemen", "Ik ga je te grazen nemen"),
    ("te grazen & nemen", "Ik neem je nog wel te grazen"),
    ("komen ... halen", "Ik kom je halen"),
    ("komen ... halen", "We komen je vanavond nog halen"),
    ("weten waar ... wonen", "Ik weet precies waar jij en je kinderen wonen"),
    ("weten waar ... school", "We weten waar je kinderen op school zitten"),
    ("<wapen> & <nu>", "Hij zei dat hij nu met een mes onderweg is"),
    ("<wapen>", "Er werd een brandende fles tegen de gevel gegooid"),
])
def test_phrases_match_across_words(pattern, text):
    assert found(pattern, text)


@pytest.mark.parametrize("pattern, text", [
    ("weten waar ... wonen", "Ik weet het niet. Waar hij woont is onbekend."),   # across sentences
    ("te grazen nemen", "de koeien te grazen zetten en de kalveren mee naar huis nemen"),  # far apart
    ("te grazen nemen", "nemen te grazen"),                                         # wrong order
    ("komen ... halen", "Ik kom morgen op het kantoor langs en daarna gaan we samen de post van de afdeling "
                        "ophalen en halen"),                                        # gap beyond ten words
])
def test_phrases_do_not_match_across_sentences_or_far_apart(pattern, text):
    assert found(pattern, text) is None


@pytest.mark.parametrize("text", [
    "Hij dreigde niet, hij was alleen boos.",
    "Hij heeft mij niet bedreigd.",
    "Er is nooit gedreigd.",
    "Niemand heeft gedreigd.",
    "Hij dreigde verder nergens mee en bleef rustig.",   # since vr19-2026.14 "nergens" reaches as far as "niet"
])
def test_negation_takes_a_match_out(text):
    assert scope("dreigen|bedreigen", text) == "ontkend"


@pytest.mark.parametrize("pattern, text", [
    ("<wapen>", "Hij had geen mes bij zich."),
    ("neersteken", "Ik steek je niet neer, rustig maar."),
    ("slaan", "Hij sloeg me niet, hij schreeuwde wel."),
])
def test_negation_of_objects_and_split_verbs(pattern, text):
    assert scope(pattern, text) == "ontkend"


@pytest.mark.parametrize("pattern, text", [
    ("afmaken", "Als je niet betaalt maak ik je af"),           # the negation belongs to the condition
    ("afmaken", "Dit is geen grap ik maak je af"),              # 'geen grap' does not negate
    ("uitschelden", "Hij heeft mij niet alleen uitgescholden maar ook geduwd"),
    ("slaan", "Hij was niet te kalmeren, en sloeg mij"),        # the negation is in another clause
    ("bedreigen", "Ik durf niet meer naar huis want hij heeft mij bedreigd"),
])
def test_negation_stays_in_its_place(pattern, text):
    assert scope(pattern, text) == ""


@pytest.mark.parametrize("pattern, text, expected", [
    ("=hit me", "He didn't hit me, he just shouted.", "ontkend"),
    ("=threaten", "He did not threaten anyone.", "ontkend"),
    ("=touched me", "He never touched me.", "ontkend"),
    ("=punched me", "He didn't push me but he punched me.", ""),   # 'but' starts a clause
    ("kill you", "If you don't pay I'll kill you.", ""),          # the negation belongs to the condition
    ("=punched me", "He punched me and did not apologise.", ""),   # English negates before the verb
])
def test_english_negation(pattern, text, expected):
    """Since vr19-2026.15 the English negations (not, never, didn't, …) take out a match shortly after them."""
    assert scope(pattern, text) == expected


def test_a_negation_the_pattern_asks_for_is_no_negation():
    assert found("vergeten & niet", "Dat vergeet ik niet, wacht maar") == "vergeet … niet"


@pytest.mark.parametrize("text", [
    "Ik dacht eerst dat hij zou slaan, maar hij liep weg.",
    "Ik dacht eerst dat hij zou slaan. Maar hij liep weg.",
    "ik was bang dat hij me ging slaan maar hij draaide zich om",
])
def test_a_fear_that_did_not_come_true_is_not_counted(text):
    assert scope("slaan", text) == "teruggenomen"


def test_what_happened_after_the_but_counts():
    assert found("slaan", "Ik dacht eerst dat hij wegliep, maar toen sloeg hij me") == "sloeg"


@pytest.mark.parametrize("text", [
    "Mijn collega vertelde over een dreigement vorig jaar.",
    "Vorig jaar heeft hij ook al gedreigd, nu schold hij alleen.",
    "In het nieuws las ik dat een burgemeester werd bedreigd.",
])
def test_an_earlier_or_someone_elses_incident_is_not_counted(text):
    assert scope("dreigen|dreigement|bedreigen", text) == "eerder of elders"


@pytest.mark.parametrize("text", [
    "Een visser zei 'ik sla je zo met mijn hengel'. We moesten er allebei om lachen.",
    "Ze zei dat ze het stadhuis wel kon opblazen. Later zei ze: nee, bij wijze van spreken.",
    "Een collega riep 'ik vermoord je als je de code verklapt'. Allemaal lol.",
])
def test_a_joke_taken_as_one_is_not_counted(text):
    assert scope("slaan|opblazen|vermoorden", text) == "als grap of bij wijze van spreken"


@pytest.mark.parametrize("text", [
    "Hij zei lachend 'ik sla je nog wel'.",                                   # the perpetrator laughing
    "Hij zei 'ik sla je'. Hij zei dat het maar een grapje was.",              # his excuse, not the reporter's
    "Hij riep dat hij me zou slaan. Niemand moest lachen, dit was niet als grap bedoeld.",
    "Hij riep dat hij me zou slaan. Ik kon niet lachen. Toen ging hij weg. Hij kwam terug. "
    "We moesten lachen om de printer.",                                      # a joke three sentences on
])
def test_a_threat_stays_a_threat_without_the_reporters_joke(text):
    assert scope("slaan", text) == ""


@pytest.mark.parametrize("text", [
    "Een cliënt vertelde dat hij door zijn huisbaas met de dood is bedreigd.",
    "Bij het huisbezoek vertelde een cliënte dat haar ex haar met een vuurwapen heeft bedreigd.",
    "Een meisje vertelde dat een ex haar online bedreigt.",
])
def test_harm_aimed_at_someone_else_is_not_counted(text):
    assert scope("bedreigen", text) == "gericht op een ander"


@pytest.mark.parametrize("text", [
    "Zijn broer bedreigde mij aan de balie.",
    "Haar ex bedreigde mijn collega bij de ingang.",
    "Hij zei dat zijn vrienden je zullen bedreigen.",
])
def test_harm_by_someones_circle_to_the_official_counts(text):
    assert scope("bedreigen", text) == ""


@pytest.mark.parametrize("text", [
    # a quoted threat in a sentence about someone else's antagonist, or said to someone else
    "Een bewoonster vertelde dat haar buurman riep: 'ik steek je huis in de fik'.",
    "De man schreeuwde tegen de bewoner: 'ik steek je neer'. Wij waren er niet bij.",
    "Een cliënte vertelde over haar ex. Hij zei: 'ik steek je neer'.",
])
def test_quoted_words_to_someone_else_are_not_the_officials(text):
    assert scope("neersteken|steken", text) == "gericht op een ander"


@pytest.mark.parametrize("text", [
    "De man schreeuwde tegen de bewoner en tegen mij: 'ik steek je neer'.",   # the official addressed too
    "Haar buurman stond erbij. Hij zei tegen mij: 'ik steek je neer'.",       # the next sentence names me
    "Hij zei: 'ik steek je neer'.",
])
def test_quoted_words_to_the_official_count(text):
    assert scope("neersteken|steken", text) == ""


@pytest.mark.parametrize("text", [
    "In 2024 is een collega bedreigd door een cliënt met een schaar. Hij is toen veroordeeld.",
    "Vorig jaar, bij de verbouwing, heeft een aannemer gedreigd. De politie kwam toen.",
])
def test_an_earlier_incident_told_over_several_sentences_is_not_counted(text):
    hits = compile_pattern("dreigen|bedreigen|schaar|politie", LEXICON).hits(analyse(text))
    assert hits and all(h.scope == "eerder of elders" for h in hits)


def test_the_story_ends_at_a_word_of_now():
    text = "Vorig jaar werd een collega bedreigd. Vandaag dreigde dezelfde man mij te slaan."
    assert [h.scope for h in compile_pattern("dreigen|bedreigen", LEXICON).hits(analyse(text))] == \
        ["eerder of elders", ""]


@pytest.mark.parametrize("text, expected", [
    ("Een kind vroeg of we de boom vermoorden. Niks aan de hand, ter info.", "volgens de melder onschuldig"),
    ("Hij riep 'ik vermoord je'. Geen kwade bedoelingen, zei hij later.", "volgens de melder onschuldig"),
    ("Hij zei: 'geen probleem, ik vermoord je'.", ""),                       # the perpetrator's words
    ("Hij riep 'ik vermoord je'. Dat was niet vriendelijk bedoeld.", ""),     # turned round
])
def test_the_reporter_calling_it_harmless_takes_the_match_out(text, expected):
    assert scope("vermoorden", text) == expected
    assert analyse(text).calls_harmless == (expected != "")


def test_apart_from_that_fine_keeps_what_was_told_but_calls_the_rest_calm():
    text = "Hij schold me uit voor klootzak. Verder netjes."
    assert scope("uitschelden", text) == "" and analyse(text).calls_harmless


def test_the_reporter_may_say_a_tick_was_a_guess():
    assert analyse("Ik heb verbale agressie aangeklikt want wist niet wat anders.").doubts_ticks
    assert not analyse("Hij schold me uit.").doubts_ticks


@pytest.mark.parametrize("text", [
    "IK GA JE VERMOÓRDEN!!!",
    "ik ga je vermoorden",
    "Ik...ga...je...VERMOORDEN",
    "ik ga je vermoooorden",
])
def test_case_accents_punctuation_and_stretched_letters_are_ignored(text):
    assert found("vermoorden", text)


def test_whole_words_only_and_compounds_by_choice():
    assert found("dood", "Hij vond de regeling doodzonde") is None
    assert found("*hoer", "Ze noemde mij een kankerhoer") == "kankerhoer"
    assert found("dreig*", "Dreigbrief ontvangen") == "Dreigbrief"


def test_chat_spelling():
    assert found("mijn ... kind", "ze weten waar mn kinderen zijn")


@pytest.mark.parametrize("source, message", [
    ("", "empty"),
    ("... mes", "between words"),
    ("mes ...", "between words"),
    ("<onbekend>", "not in the lexicon"),
    ("mes & ", "both sides"),
    ("m*", "at least 3 letters"),
    ("mes!", "not a word"),
])
def test_a_pattern_that_cannot_be_used_is_refused_with_a_reason(source, message):
    with pytest.raises(PatternError, match=message):
        compile_pattern(source, LEXICON)


def test_a_group_may_not_refer_to_itself():
    with pytest.raises(PatternError, match="itself"):
        compile_pattern("<a>", {"a": ["x <a>"]})
