"""The rules file in lemmas and patterns (vr19-2026.4 and its format): old files still load, a
pattern that cannot be used is refused with its place, a region's own categories travel as codes
(and only declared ones), and intake's acute check reads the same rules as triage."""
from __future__ import annotations

import uuid

import pytest
import yaml

from services.intake.domain import priority_of, reported_payload
from services.triage.domain import triage
from shared import triage_rules as tr
from shared import vocabulary
from shared.events import InvalidEvent, new_event
from tests.unit.samples import consent, incident

OLD_FILE = """
version: oud-1
categories: [verbale_agressie, bedreiging, overig]
keywords_apply_when_reported_at_most: 0
keywords:
  - category: bedreiging
    words: ["vermoorden", "weet waar je woont"]
    reason: "Bedreiging ('{word}')."
urgency:
  - when: {keywords_any: ["vermoorden"]}
    urgency: acuut
    reason: "Doodsbedreiging."
decisions:
  - when: {categories_any: [bedreiging]}
    decision: police_referral
    reason: "Strafbaar feit."
aftercare_intensity: {acuut: intensief, hoog: verhoogd, normaal: standaard, laag: licht}
"""


@pytest.fixture
def own_categories_reset():
    yield
    vocabulary.use_own_categories(())


def test_an_old_rules_file_with_surface_words_still_loads_and_reads_inflections():
    rules = tr.parse_rules(yaml.safe_load(OLD_FILE), "oud.yaml")
    result = triage(incident(reported_categories=[], consent=consent(police_referral=True)), rules,
                    "Hij zei dat hij mij zou vermoorden en dat hij weet waar ik woon.")
    assert (result.categories, result.urgency, result.decisions) == (["bedreiging"], "acuut", ["police_referral"])


@pytest.mark.parametrize("change, message", [
    (lambda r: r["keywords"][0].update(words=["mes ..."]), r"keywords\.0\.words\.0: .*between words"),
    (lambda r: r["urgency"][0]["when"].update(patterns_any=["<onbekend>"]),
     r"urgency\.0\.when\.patterns_any\.0: <onbekend> is not in the lexicon"),
    (lambda r: r.update(lexicon={"wapen": ["mes", "x <wapen>"]}), r"lexicon\.wapen\.1: <wapen> refers to itself"),
    (lambda r: r.update(lexicon={"Wapen!": ["mes"]}), r"lexicon\.Wapen!\.key: must be a group name"),
    (lambda r: r["keywords"][0].pop("words"), r"keywords\.0\.patterns: give words or patterns"),
    (lambda r: r.update(categories=["bedreiging", "overig", "vuurwerk"]), r"categories\.2: 'vuurwerk' is not a"),
    (lambda r: r.update(own_categories=[{"code": "Vuurwerk Overlast!", "name": "x"}]),
     r"own_categories\.0\.code: must be a category code"),
    (lambda r: r.update(own_categories=[{"code": "bedreiging", "name": "Dreiging"}]),
     r"own_categories\.0\.code: bedreiging is one of the hub's categories already"),
])
def test_a_rules_file_that_cannot_be_used_names_the_place(change, message):
    raw = yaml.safe_load(OLD_FILE)
    change(raw)
    with pytest.raises(tr.RulesError, match=r"^oud\.yaml: " + message):
        tr.parse_rules(raw, "oud.yaml")


def own_rules():
    raw = yaml.safe_load(OLD_FILE)
    raw["own_categories"] = [{"code": "vuurwerk", "name": "Vuurwerk naar medewerkers"}]
    raw["categories"] = ["verbale_agressie", "bedreiging", "vuurwerk", "overig"]
    raw["keywords"].append({"category": "vuurwerk", "patterns": ["vuurwerk & gooien|afsteken"],
                            "reason": "Vuurwerk naar medewerkers ('{word}')."})
    return tr.parse_rules(raw, "eigen.yaml")


def test_a_regions_own_category_is_found_and_travels_as_a_code(own_categories_reset):
    rules = own_rules()
    vocabulary.use_own_categories(rules.own_categories)
    result = triage(incident(reported_categories=[]), rules, "Er werd zwaar vuurwerk naar de handhavers gegooid.")
    assert result.categories == ["vuurwerk"]
    event = new_event("incident_triaged", "GM0687", uuid.uuid4(), {
        "categories": result.categories, "urgency": result.urgency, "decisions": result.decisions,
        "rules_version": result.rules_version, "occurred_at": incident()["occurred_at"],
        "location_type": "kantoor", "target_role": "ambtenaar"})
    assert event.payload["categories"] == ["vuurwerk"]


@pytest.mark.parametrize("code", ["vuurwerk", "Hij gooide vuurwerk", "x" * 40, "ab"])
def test_events_refuse_a_category_the_region_does_not_declare(code, own_categories_reset):
    vocabulary.use_own_categories(())
    with pytest.raises(InvalidEvent) as refused:
        new_event("incident_reported", "GM0687", uuid.uuid4(), {**incident(), "reported_categories": [code]})
    assert "reported_categories" in refused.value.messages


def test_free_text_cannot_pass_as_an_own_category_even_when_declared(own_categories_reset):
    vocabulary.use_own_categories(["vuurwerk", "Hij gooide vuurwerk naar mij"])
    new_event("incident_reported", "GM0687", uuid.uuid4(), {**incident(), "reported_categories": ["vuurwerk"]})
    with pytest.raises(InvalidEvent):
        new_event("incident_reported", "GM0687", uuid.uuid4(),
                  {**incident(), "reported_categories": ["Hij gooide vuurwerk naar mij"]})


def test_statistics_count_a_regions_own_category(own_categories_reset):
    from services.statistics.figures import Counts, columns_of

    counts = Counts([("GM0687", "category", "bedreiging", 2), ("GM0687", "category", "vuurwerk", 3)])
    assert columns_of("category", counts)[-1] == "vuurwerk"
    assert {"seksuele_intimidatie", "doxing"} <= set(columns_of("category", counts))


# ---------------------------------------------------------------- intake's acute check

def report(description, **fields):
    return {"occurred_at": incident()["occurred_at"], "location_type": "balie", "target_role": "ambtenaar",
            "categories": [], "perpetrators": [], "reporter": None, "consent": consent(),
            "description": description, **fields}


@pytest.mark.parametrize("description, fields, priority", [
    ("Een man belde dat hij nu met een mes onderweg is om de burgemeester neer te steken.", {}, 9),
    ("Hij staat nog steeds buiten en zegt dat hij mij te grazen neemt.", {}, 9),
    ("We weten waar je kinderen op school zitten.", {}, 9),
    ("Ik ga je vermoorden, riep hij, en liep weg.", {}, 0),           # a stock phrase alone is hoog
    ("Een bezoeker schreeuwde aan de balie.", {}, 0),
    ("Een bezoeker schreeuwde aan de balie.", {"direct_danger": True}, 9),
    ("Hij had geen mes bij zich en is weggegaan.", {}, 0),
])
def test_intake_records_acute_reports_at_the_acute_priority(description, fields, priority):
    rep = report(description, **fields)
    assert priority_of(reported_payload(rep, "api"), description, tr.default_rules()) == priority


def test_intake_and_triage_read_the_same_acute_floor():
    rep = report("Hij zei dat hij vanavond met een pistool langskomt.")
    payload = reported_payload(rep, "api")
    assert priority_of(payload, rep["description"], tr.default_rules()) == 9
    assert triage(payload, description=rep["description"]).urgency == "acuut"


def test_every_pattern_of_the_default_rules_compiles_and_every_reason_is_dutch_text():
    rules = tr.default_rules()
    assert rules.version == "vr19-2026.16"
    assert {"seksuele_intimidatie", "doxing"} <= set(rules.categories)
    for kw in rules.keywords:
        assert kw["reason"] and "{word}" in kw["reason"]


# ---------------------------------------------------------------- vr19-2026.3: weapons at hand, a day, veiled threats

@pytest.mark.parametrize("description, category, urgency", [
    # a weapon at hand or with a time is a threat, and acute, without a threatening verb
    ("Hij liet een pistool zien in zijn binnenzak.", "bedreiging", "acuut"),
    ("Morgen sta ik met mijn kruisboog bij het stadhuis, zei hij.", "bedreiging", "acuut"),
    ("De man zit nog in de wachtruimte, hij heeft een mes bij zich.", "bedreiging", "acuut"),
    ("Hij kwam over tien minuten terug met een jerrycan benzine, zei hij.", "bedreiging", "acuut"),
    # a threat with a day is concrete about when: acute
    ("Hij riep dat hij me morgenavond te grazen neemt.", "bedreiging", "acuut"),
    # veiled threats
    ("Ik weet jou wel te vinden, zei hij bij het weggaan.", "bedreiging", "hoog"),
    ("Er komen mensen bij je langs, en niet van de gemeente.", "bedreiging", "acuut"),   # at the home
    ("Rij maar voorzichtig, zei hij, en keek naar mijn auto.", "bedreiging", "hoog"),
    ("Je kinderen zijn hier ook niet veilig, schreef hij.", "bedreiging", "acuut"),
])
def test_weapons_days_and_veiled_threats_are_read(description, category, urgency):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert category in result.categories and result.urgency == urgency, result.reasons


@pytest.mark.parametrize("description", [
    "Er lag een mes in de kantine, voor de taart van de jarige collega.",
    "Hij had geen mes bij zich en is rustig weggegaan.",
    "Ik voel me niet veilig sinds de reorganisatie, maar er is niets gebeurd.",
    "De klant moest de rekening betalen en zei dat hij dat morgen doet.",
])
def test_harmless_words_near_weapons_and_days_stay_harmless(description):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert "bedreiging" not in result.categories and result.urgency != "acuut", result.reasons


# ---------------------------------------------------------------- vr19-2026.4: false finds taken out

@pytest.mark.parametrize("description, category", [
    # the threat's words in a story of what was done, or of a thing
    ("De bewoner kwam naar buiten, sloeg de zak uit mijn handen en duwde me.", "bedreiging"),
    ("De container is vannacht in brand gestoken. Niemand gewond.", "bedreiging"),
    ("De beller zei dat hij het niet eens was en hing op.", "bedreiging"),
    ("Een straatmuzikant zei 'jij doet ook maar je werk' en pakte zijn gitaar in.", "bedreiging"),
    ("Hoe weet hij waar ik woon? Er hing een briefje aan mijn hek.", "bedreiging"),
    # the category's name, a toy, a hunting gun at a check
    ("Ik heb bedreiging aangevinkt omdat de app dat vraagt, er is niks gebeurd.", "bedreiging"),
    ("Een jongetje riep 'ik schiet je neer met mijn waterpistool!'", "bedreiging"),
    ("Bij de controle van jachtakten liet een jager zijn geweer geknakt zien.", "bedreiging"),
    # a dog is not an insult; pushing a hand away is what the person touched did
    ("Meneer kwam binnen met zijn hond en vroeg naar zijn paspoort.", "verbale_agressie"),
    ("Hij legde zijn hand op mijn knie. Ik heb zijn hand weggeduwd.", "fysiek_geweld"),
    ("Het bord bouwstop is eraf gerukt.", "fysiek_geweld"),
    ("We hebben de dienst afgebroken.", "vernieling"),
])
def test_false_finds_of_earlier_versions_stay_out(description, category):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert category not in result.categories, result.reasons


@pytest.mark.parametrize("description, category", [
    ("Hij zei: ik weet waar je woont.", "bedreiging"),
    ("Ik steek je huis in brand, riep hij.", "bedreiging"),
    ("We komen je halen, schreef hij.", "bedreiging"),
    ("Ik hang je op, zei hij tegen de boa.", "bedreiging"),
    ("Hij riep dat boa's honden zijn.", "verbale_agressie"),
    ("Hij heeft mij weggeduwd bij de balie.", "fysiek_geweld"),
    ("Hij rukte aan mijn arm.", "fysiek_geweld"),
    ("Hij belde me op mijn privénummer, elke avond.", "intimidatie"),
])
def test_the_threats_and_acts_of_those_words_are_still_read(description, category):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert category in result.categories, result.reasons


def test_a_tick_the_description_takes_back_is_not_taken():
    text = "Ik dacht eerst dat hij me zou slaan, maar hij draaide zich om en liep weg."
    result = triage(incident(reported_categories=["bedreiging"]), tr.default_rules(), text, None)
    assert "bedreiging" not in result.categories
    assert any("neemt het terug: bedreiging" in r for r in result.reasons)
    guess = "Ik heb verbale agressie aangeklikt want wist niet wat anders. Hij was gewoon kortaf."
    result = triage(incident(reported_categories=["verbale_agressie"]), tr.default_rules(), guess, None)
    assert result.categories == ["overig"] and any("twijfelde aan de keuze" in r for r in result.reasons)


# ---------------------------------------------------------------- vr19-2026.5: other senses, the forms of a veiled threat

@pytest.mark.parametrize("description", [
    "De planning van de verbouwing dreigt mis te gaan, zei mijn leidinggevende.",
    "Het gesprek dreigde uit de hand te lopen, maar we zijn rustig gebleven.",
    "De deadline dreigt te verlopen als het systeem niet snel werkt.",
    "Deze spreadsheet maakt me nog eens dood, zuchtte mijn collega.",
    "Met oud en nieuw schoten jongens vuurwerk af op het plein.",
])
def test_other_senses_of_threat_words_are_no_threat(description):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert "bedreiging" not in result.categories, result.reasons


@pytest.mark.parametrize("description", [
    "Hij dreigde mij te slaan als ik de bon niet verscheurde.",
    "Hij wees naar mij en zei: 'jij bent de volgende'.",
    "Bij het weggaan zei hij 'de volgende ben jij'.",
    "Hij zei 'volgende keer is het je kop'.",
])
def test_threats_in_their_forms_are_read(description):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert "bedreiging" in result.categories, result.reasons


@pytest.mark.parametrize("description, expected", [
    # the field's words beside a remark or a closure alone: no ondermijning (README: criminal pressure)
    ("Bij de sluiting van de coffeeshop schold de eigenaar mij uit voor klootzak.", False),
    ("Een vrouw zei dat al die dealers in de wijk buitenlanders zijn.", False),
    # with pressure, an offer or scouting beside them: ondermijning
    ("Na de controle bij de coffeeshop vroeg een man naar mijn werktijden.", True),
    ("De eigenaar van de coffeeshop zei dat hij vrienden heeft die dit kunnen regelen.", True),
    ("Bij de inval in de hennepkwekerij stond de eigenaar erbij.", True),   # the milieu itself
])
def test_words_of_the_criminal_field_need_pressure_beside_them(description, expected):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert ("ondermijning" in result.categories) == expected, result.reasons


# ---------------------------------------------------------------- vr19-2026.6: kinds of exception, quotes, scouting

def test_an_other_sense_is_named_and_the_second_opinion_does_not_add_it_back():
    """`other_senses` (the knife in the kitchen) takes the match out as `unless` does, and also keeps the model
    from adding the category; an `unless` exception (context) leaves the model free."""
    from tests.unit.triage.test_second_opinion import toy_model
    text = "In de keuken lag een mes klaar voor de taart, daarna had hij het over kaas."
    result = triage(incident(reported_categories=[]), tr.default_rules(), text, toy_model())
    assert "bedreiging" not in result.categories
    assert any("telt niet als bedreiging: andere betekenis" in r for r in result.reasons)
    context = "Hij dreigde met de krant en had het steeds over kaas."
    result = triage(incident(reported_categories=[]), tr.default_rules(), context, toy_model())
    assert any("uitgezonderd" in r for r in result.reasons) and "bedreiging" in result.categories


@pytest.mark.parametrize("description, violence", [
    ("Hij schreeuwde 'als ik je buiten zie sla ik je kop in'.", False),     # said: a threat
    ("Hij riep 'ik sla je' en duwde mij tegen de muur.", True),             # done, outside the quote
])
def test_violence_in_the_perpetrators_quoted_words_is_a_threat_not_violence_told(description, violence):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert ("fysiek_geweld" in result.categories) == violence, result.reasons
    if not violence:
        assert "bedreiging" in result.categories


@pytest.mark.parametrize("description, category", [
    ("We hebben de werkadressen van de wijkposten op de website gezet.", "doxing"),   # the municipality's own data
    ("Ze zeiden dat het filmpje online gaat zodat iedereen weet wie je bent.", "bedreiging"),   # exposure, no threat
])
def test_harmless_or_other_readings_of_doxing_and_threat_words(description, category):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert category not in result.categories, result.reasons


def test_a_name_alone_is_no_private_data():
    """Doxing is the home address, the private number, photos of the house or the family; the official's name on a
    post is not (tests/triage_corpus/README.md)."""
    named = triage(incident(reported_categories=[]), tr.default_rules(),
                   "Een YouTuber noemde mijn naam en functie in een filmpje over de gemeente.", None)
    address = triage(incident(reported_categories=[]), tr.default_rules(),
                     "Iemand heeft mijn huisadres op Facebook gezet.", None)
    assert "doxing" not in named.categories and "doxing" in address.categories


@pytest.mark.parametrize("description, category", [
    ("Hij zei 'ik ga niet met een bosneger praten' en liep weg.", "discriminatie"),   # a slur is said, negated or not
    ("Een beller vroeg in welke straat die mevrouw van vergunningen woont.", "ondermijning"),
    ("Een man vroeg aan collega's hoe laat de jurist naar huis gaat.", "ondermijning"),
    ("Hij zei: 'U heeft ook kinderen, mevrouw. Denk daar maar eens aan.'", "bedreiging"),
    ("Ik heb hem geblokkeerd, maar hij maakt steeds nieuwe accounts aan.", "intimidatie"),
    ("Hij wist dat mijn zoon bouwkunde studeert. Dat heb ik hem nooit verteld.", "intimidatie"),
    ("Hij noemde ons uitschot en een stel hersenloze klunzen.", "verbale_agressie"),
    ("Zeg maar tegen hem dat hij beter een andere route naar huis kan nemen.", "bedreiging"),
])
def test_scouting_veiled_threats_and_unwanted_contact_in_ordinary_words_are_read(description, category):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert category in result.categories, result.reasons


def test_a_report_the_reporter_says_was_not_aimed_at_him_gets_nothing_from_the_model_nor_its_ticks():
    from tests.unit.triage.test_second_opinion import toy_model
    aside = triage(incident(reported_categories=[]), tr.default_rules(),
                   "Mijn cliënte vertelde over kaas en haar zoon. Naar mij toe was er niets.", toy_model())
    assert aside.categories == ["overig"]
    ticked = triage(incident(reported_categories=["bedreiging"]), tr.default_rules(),
                    "De nieuwsbrief noemde onze planningstool de killer-app. Niks aan de hand, ter info.", None)
    assert ticked.categories == ["overig"], ticked.reasons


def test_the_plural_of_a_nude_photo_is_read_as_sexual_intimidation():
    """vr19-2026.8: 'naaktfoto's' (and the chat spelling 'naaktfotos') were read as nothing: the lemmatiser
    does not know the plural, so the lexicon names the word's start."""
    for text in ("Hij stuurde me naaktfoto's via Snapchat.", "hij stuurt me naaktfotos", "Hij stuurde een naaktfoto."):
        assert "seksuele_intimidatie" in tr.read_categories(incident(reported_categories=[]), text,
                                                            tr.default_rules()).categories, text


@pytest.mark.parametrize("description", [
    "Na de controle wilde de eigenaar mij een envelop met 200 euro geven.",
    "Hij legde een envelop op de balie 'voor de moeite'.",
    "Hij bood mij 500 euro kontant als ik de inschrijvingen zou doorzetten.",
    "Als het bedrag rond komt, zit er voor jou ook wat in.",
    "Er staat een mooie e-bike voor je klaar als wij die opdracht krijgen.",
    "Hij zei dat ik er zelf ook beter van kan worden.",
    "Dat merkt niemand, zei hij erbij.",
    "Hij vroeg of ik een oogje wilde dichtknijpen bij de controle.",
    "Je hebt niks gezien, toch?",
    "De makelaar stuurde een cadeaubon bij zijn aanvraag voor de splitsingsvergunning.",
])
def test_a_bribe_is_read_in_the_words_people_use_for_it(description):
    """vr19-2026.9: an envelope with money, money or a favour 'in it for you' or 'ready for you', 'better off',
    'nobody will notice', turning a blind eye, a gift beside a permit (any compound of vergunning)."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert "ondermijning" in result.categories and "riec_signal" in result.decisions, result.reasons
    assert any("omkoping" in r or "ondermijning" in r for r in result.reasons)


@pytest.mark.parametrize("description", [
    "In de groep schreef iemand 'zo leeft de wethouder van ons geld' onder een foto van de vergadering.",
    "De envelop met de beschikking lag nog op mijn bureau.",
    "Ik heb niks gezien, ik zat achter in de kantine.",
    "Voor mijn afscheid kreeg ik van de collega's een cadeaubon.",
    "Daar wordt niemand beter van, zei ik nog tegen de klant.",
])
def test_money_and_gifts_in_ordinary_senses_are_no_bribe(description):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert "ondermijning" not in result.categories, result.reasons


def test_places_of_counts_where_the_rules_words_for_a_category_are():
    """One place: one word or phrase (patterns on the same or overlapping words are one place); the second opinion may
    doubt a category found in one place only (`doubt_weak`)."""
    rules = tr.default_rules()
    from shared import dutch_phrases as dp
    once = tr.places_of("bedreiging", dp.analyse("Een collega schreef 'ik vermoord die printer nog eens'."), rules)
    twice = tr.places_of("bedreiging", dp.analyse("Hij dreigde mij. Later bedreigde hij mijn collega weer."), rules)
    negated = tr.places_of("bedreiging", dp.analyse("Hij dreigde niet."), rules)
    overlapping = tr.places_of("vernieling", dp.analyse("Bij het weggaan heeft hij de ruit ingegooid."), rules)
    assert [h.words for h in overlapping] == ["ingegooid"]   # 'ingegooid' and 'ruit ... ingegooid' are one place
    assert [h.words for h in once] == ["vermoord"]
    assert sorted(h.words for h in twice) == ["bedreigde", "dreigde"]
    assert negated == []


@pytest.mark.parametrize("description", [
    "Toen ik weigerde pakte hij een schep van zijn kar en vroeg: 'wil je deze soms ook proeven?'",
    "Hij liet mij op zijn telefoon een foto van mijn huis zien.",
    "Hij riep dat ik nog een pak slaag krijg als ik de boete niet intrek.",
    "Hij zei dat hij zijn vrienden op je af stuurt.",
    "Hij reed met zijn auto op mij af en riep dat ik moest oppassen.",
])
def test_a_phrase_among_alternatives_and_harm_offered_as_a_question_are_threats(description):
    """vr19-2026.10: a phrase among alternatives ('laten zien', 'pak slaag', 'op je af') was read as a sequence with its
    neighbours and so never matched; a weapon picked up, harm offered as a taste and a car driven at someone are a threat (with a weapon: acuut)."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert "bedreiging" in result.categories, result.reasons
    if "schep" in description:
        assert result.urgency == "acuut", result.reasons


@pytest.mark.parametrize("description, insult", [
    ("Een beller zei: 'jij bent echt een waardeloze zeur'.", True),
    ("Ze noemde mijn collega een domme muts.", True),
    ("Een voorbijganger riep 'stelletje geitenneukers' naar ons.", True),
    ("Hij zei 'u bent een laffe bureaucraat'.", True),
    ("Meneer zei 'jullie zijn echt een stelletje amateurs' en ging zitten.", False),   # rude, lawful: overig
    ("Ik maakte een domme fout in de beschikking.", False),
    ("Een stelletje jongeren vroeg de weg naar het station.", False),
])
def test_an_insult_is_read_by_its_form(description, insult):
    """vr19-2026.10: 'jij bent een …', a name made an insult by its adjective ('domme muts'), 'stelletje' with a name
    to call someone by; criticism that is rude but lawful ('stelletje amateurs') stays no insult."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert ("verbale_agressie" in result.categories) == insult, result.reasons


@pytest.mark.parametrize("description, category, found", [
    ("Een collega riep 'ik vermoord je' om de laatste stroopwafel. Grapje natuurlijk.", "bedreiging", False),
    ("Hij zei 'ik steek je neer'. Mijn collega vroeg of dat een dreigement was. Ja.", "bedreiging", True),
    ("De stagiaire vroeg of het woord in de app een dreigement was.", "bedreiging", False),
    ("De brief zegt dat ik de boeren in de steek laat.", "bedreiging", False),
    ("Hij zei: 'jij krijgt binnenkort nog wel bezoek'.", "bedreiging", True),
    ("Ik heb het bezoek afgebroken.", "bedreiging", False),
    ("Hij riep 'ga terug naar je eigen land, aap'.", "verbale_agressie", True),
    ("Hij zei dat de gemeente een stel zakkenvullers is, maar niet tegen mij persoonlijk.", "verbale_agressie", False),
])
def test_jokes_questions_idioms_and_remarks_aimed_at_no_one_are_read_as_such(description, category, found):
    """vr19-2026.11: the reporter's 'grapje natuurlijk', a question whether something was a threat, 'in de steek
    laten' and a visit told are no threat; a name said beside a discriminating remark is an insult too; rudeness said
    of the municipality, not to the person, is none."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert (category in result.categories) == found, result.reasons


@pytest.mark.parametrize("description, found", [
    ("Hij zei dat hij 'de hele boel kort en klein gaat slaan'. Hij bedoelde zijn oude keuken.", False),
    ("Hij zei 'ik zou die dingen het liefst opblazen' maar bedoelde dat hij ze lelijk vindt.", False),
    ("Hij riep dat hij haar zou neersteken. Hij bedoelde de wethouder.", True),          # whom he meant: the official
    ("Hij zei 'ik steek je neer'. Ik vroeg wat hij bedoelde, hij bedoelde het serieus.", True),   # a question
    ("Ik weet niet wat hij bedoelde de laatste keer: 'ik steek je neer'.", True),
])
def test_the_reporters_explanation_of_what_was_meant_takes_out_a_threat(description, found):
    """vr19-2026.14: the reporter explains in his own words what was meant ("hij bedoelde zijn oude keuken"): the
    words before were no threat, and the second opinion adds none; not a question, and not whom he meant."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert ("bedreiging" in result.categories) == found, result.reasons


@pytest.mark.parametrize("description, category, found", [
    # a slur or a sexual remark explained stays one; the threat reading beside it goes
    ("Hij noemde de deelnemers 'apen'. Hij bedoelde de ceremonie, zei hij later.", "discriminatie", True),
    ("Hij riep 'vuile kankerturk, ik maak je af'. Hij bedoelde zijn oude keuken.", "discriminatie", True),
    ("Hij riep 'vuile kankerturk, ik maak je af'. Hij bedoelde zijn oude keuken.", "bedreiging", False),
    # whom he meant are people or a group: the words were aimed at people, nothing is explained away
    ("Een bezoeker noemde de deelnemers 'apen'. Hij bedoelde de deelnemers en keek naar mij.", "discriminatie", True),
    ("Een bezoeker noemde de deelnemers 'apen'. Hij bedoelde de deelnemers en keek naar mij.", "verbale_agressie",
     True),
    ("Hij riep 'ik maak ze allemaal af'. Hij bedoelde de ambtenaren.", "bedreiging", True),
    ("Hij riep 'ik maak ze allemaal af'. Hij bedoelde de mensen van de balie.", "bedreiging", True),
    # what he meant is a thing: the threat reading goes, as in vr19-2026.14
    ("Hij riep 'ik maak ze allemaal af'. Hij bedoelde de bomen in het park.", "bedreiging", False),
])
def test_the_reporters_explanation_takes_out_a_threat_reading_only_and_never_one_of_people(description, category,
                                                                                           found):
    """vr19-2026.15: the reporter's explanation of what was meant takes out a threat reading only (with the shouting
    it came in), not a slur or a sexual remark; and when it names people or a group ("hij bedoelde de deelnemers")
    the words were aimed at people, so it takes out nothing."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert (category in result.categories) == found, result.reasons


@pytest.mark.parametrize("description, found", [
    ("Hij bood mij een envelop met geld aan voor de vergunning. 'Ik kom wel eens langs,' zei hij.", True),
    ("Hij bood mij geld aan voor de vergunning en zei dat hij weet waar ik woon.", True),
    ("De aanvrager bood mij een envelop met geld aan voor de vergunning. Ik heb geweigerd.", False),
    ("De aanvrager bood mij aan om gratis camera's bij mijn huis te plaatsen, voor de vergunning.", False),
])
def test_ondermijning_with_the_officials_home_or_a_visit_is_intimidatie_too(description, found):
    """vr19-2026.15: ondermijning with the official's own home named or a visit announced is intimidatie too (the
    labelling guide: the official personally approached, visited or told about their private life)."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert "ondermijning" in result.categories, result.reasons
    assert ("intimidatie" in result.categories) == found, result.reasons


@pytest.mark.parametrize("description, found", [
    ("De receptie dacht dat het een dreigement was, maar hij had het over zijn auto.", False),
    ("Mijn collega las het eerst als dreiging, het ging om een beroepschrift.", False),
    ("De inwoner belde omdat hij dacht dat hij bedreigd werd door de aanslag.", False),
    ("Ze twijfelt of het echt een dreigement is.", False),
    ("Hij zei 'ik weet waar je woont'. De receptie dacht dat het een dreigement was.", True),   # the words stand
    ("Ik kreeg een dreigement: 'je bent de volgende'.", True),
])
def test_a_threat_word_that_names_someones_reading_is_no_threat(description, found):
    """vr19-2026.14: 'dacht dat het een dreigement was', 'las het als dreiging': the category's name for someone's
    reading of the words (other_senses); what was said is read on its own."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert ("bedreiging" in result.categories) == found, result.reasons


def test_harm_the_reporter_says_has_nothing_to_do_with_his_work_is_someone_elses():
    """vr19-2026.14: the aside cue 'niets met mijn werk te maken' also with the work named on ('bij de gemeente')."""
    text = ("Mijn buurman riep vanochtend dat hij mijn auto in de fik steekt. Het heeft niets met mijn werk bij de "
            "gemeente te maken.")
    result = triage(incident(reported_categories=[]), tr.default_rules(), text, None)
    assert "bedreiging" not in result.categories, result.reasons


@pytest.mark.parametrize("description, violence", [
    ("Omschrijving: klant schold de medewerker uit / Letsel: nee / Politie gebeld: nee", False),
    ("Omschrijving: klant schold de medewerker uit. Letsel nee.", False),
    ("Omschrijving: klant schold de medewerker uit / Letsel: blauwe plek / Politie gebeld: ja", True),
])
def test_a_form_field_answered_no_is_negated(description, violence):
    """vr19-2026.14: 'Letsel: nee' in a form's write-up says there was no injury (ontkend)."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert ("fysiek_geweld" in result.categories) == violence, result.reasons


# ---------------------------------------------------------------- vr19-2026.14: English (and a few Frisian words)

@pytest.mark.parametrize("description, category, urgency", [
    ("A caller said: 'I will kill you'.", "bedreiging", "hoog"),
    ("He shouted 'you're dead' and slammed the door.", "bedreiging", "hoog"),
    ("He said 'watch your back' when I left the desk.", "bedreiging", "hoog"),
    ("'I know where you live', he said.", "bedreiging", "acuut"),            # the home: <thuis>, as in Dutch
    ("He wrote: 'you'll regret this decision'.", "bedreiging", "hoog"),
    ("He said he will stab you and left.", "bedreiging", "hoog"),
    ("He said he is on his way with a gun.", "bedreiging", "acuut"),          # a weapon with a time
    ("He had a knife in his hand at the counter.", "bedreiging", "acuut"),    # a weapon at hand
    ("'Your kids will pay for this', he wrote.", "bedreiging", "acuut"),      # the family: <familie>
    ("He pushed me against the wall.", "fysiek_geweld", "hoog"),
    ("A visitor punched my colleague in the face.", "fysiek_geweld", "hoog"),
    ("He grabbed my arm and would not let go.", "fysiek_geweld", "hoog"),
    ("He called me a stupid bitch.", "verbale_agressie", "normaal"),
    ("A caller said 'you people are useless'.", "verbale_agressie", "normaal"),
    ("He shouted 'go back to your own country'.", "discriminatie", "normaal"),
    ("He grabbed my ass when I walked past.", "seksuele_intimidatie", "hoog"),   # touching: <aanraking>
    ("He kept saying I should come sit on his lap.", "seksuele_intimidatie", "normaal"),
    ("Mail in het Fries: 'Pas op dy.'", "bedreiging", "hoog"),
    ("He sent me an email: 'I will kill you'.", "bedreiging", "hoog"),
])
def test_english_threats_violence_insults_and_touching_are_read_to_the_dutch_floors(description, category, urgency):
    """vr19-2026.14: English words are lexicon entries in the groups of their Dutch counterparts and keywords beside
    the Dutch ones, so a weapon, a time, the home or the family raise an English threat as they raise a Dutch one."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert category in result.categories and result.urgency == urgency, result.reasons


@pytest.mark.parametrize("description", [
    "Meneer had een T-shirt aan met 'I KILL FOR COFFEE' erop. Hij was heel rustig.",
    "I kill for coffee, you know.",
    "She was killing it at the presentation, everyone said so.",
    "Could you shoot me an email about the permit?",
    "I'll shoot you an email with the form tomorrow.",
    "You will pay the fine within six weeks, I told him.",
    "He said you'll pay the parking fee at the machine.",
    "The resident was polite, just banter about the weather.",
    "He kept hitting on me at the counter, I said no and he left.",   # flirting, not violence (nor sexual by these words)
    "Hit me up if the form does not work, he said.",
    "A fat man with a dog asked at the desk for his passport.",       # a description, not a name called
    "Ik heb spit in me rug, dus ik zat vandaag thuis.",               # Dutch back pain, not the English 'spit'
    "I gave him a lap top? No, he brought his own laptop.",
    "Ik heb het hem gegund, hij had een lange dag.",                 # gunnen: not the English 'gun'
    "De ramen worden volgende week gelapt.",                          # lappen: not the English 'lap'
])
def test_harmless_english_stays_harmless(description):
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert result.categories == ["overig"], result.reasons


def test_a_clients_own_suicide_announced_in_his_words_is_no_threat_to_the_official():
    """vr19-2026.14: the labelling guide's overig; before, 'kapotgemaakt' with 'jullie … ik' was read as a threat."""
    text = "Beller: 'jullie hebben mijn leven kapotgemaakt, ik maak er vanavond een eind aan'. Collega noemde 113."
    result = triage(incident(reported_categories=[]), tr.default_rules(), text, None)
    assert "bedreiging" not in result.categories and result.urgency != "acuut", result.reasons
    threat = "Hij zei: 'ik maak je af, vanavond sta ik voor je deur'."
    assert "bedreiging" in triage(incident(reported_categories=[]), tr.default_rules(), threat, None).categories


@pytest.mark.parametrize("description, found", [
    ("Hij belde voor de derde keer over zijn bijzondere bijstand en zuchtte hard.", False),
    ("Ik werd drie keer gebeld door een onbekend nummer, er werd niets gezegd.", False),
    ("Een makelaar die regelmatig vergunningen aanvraagt, stuurde een kerstpakket.", False),
    # a few times where someone is there, or after a hang-up or a block: repetition
    ("Een oud-klant staat al drie keer 's avonds bij de bushalte waar ik instap.", True),
    ("Dit is de derde keer dat hij bij mijn auto staat te wachten.", True),
    ("Toen ik ophing belde hij nog drie keer terug.", True),
    ("Ik heb hem geblokkeerd, maar hij mailt regelmatig via een ander adres.", True),
    # floods and weeks stay repetition on their own
    ("Hij belt al twee weken elke dag naar mijn werknummer.", True),
    ("Sinds gisteren krijg ik tientallen telefoontjes.", True),
])
def test_a_few_calls_about_a_matter_are_no_unwanted_contact(description, found):
    """vr19-2026.16: 'drie keer', 'de derde keer', 'regelmatig' (`<herhaling_paar>`) are repetition only with someone
    there (waiting, coming back) or calls that go on after a hang-up, a no or a block (the labelling guide); a matter
    chased by phone a few times is not intimidatie. Floods and weeks (`<herhaling>`) count as before."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert ("intimidatie" in result.categories) == found, result.reasons


def test_repetition_a_few_times_still_makes_intimidation_hoog():
    """The urgency rule for stalking reads both groups, so intimidation a few times at the bus stop stays hoog."""
    text = "Een man die ik vorige maand hielp staat al drie keer 's avonds bij de bushalte waar ik instap."
    result = triage(incident(reported_categories=[]), tr.default_rules(), text, None)
    assert "intimidatie" in result.categories and result.urgency == "hoog", result.reasons


@pytest.mark.parametrize("description, found", [
    # the perpetrator knows the private life: a veiled threat, in its inflections
    ("Hij zei: 'ik weet dat je dochter op de Kanarieschool zit'.", True),
    ("Een brief in de bus: 'wij weten dat jij elke zaterdag in het bos hardloopt'.", True),
    ("Hij zei: 'We wisten dat u vanavond alleen thuis bent'.", True),
    # someone else's knowing, the name, a message read, certainty: no threat of harm
    ("Ze riep: 'iedereen moet weten dat je een leugenaar bent'.", False),
    ("Hij appt steeds 'waarom reageer je niet, ik weet dat je het leest'.", False),
    ("De beller zei: 'ik weet dat jij Fatima heet'.", False),
    ("Hij mailde: 'ik weet zeker dat u de notulen vervalst'.", False),
    ("Ik wil u laten weten dat uw medewerker kortaf was.", False),
])
def test_i_know_that_you_is_a_threat_from_the_perpetrator_not_a_name_or_a_message_read(description, found):
    """vr19-2026.16: 'ik/we weten dat je …' is a veiled threat only with the perpetrator as the one who knows, and not
    where what he knows is the name, that a message was read, or his certainty (`other_senses`)."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert ("bedreiging" in result.categories) == found, result.reasons


def test_i_know_that_you_read_it_is_not_added_back_as_a_threat_by_the_second_opinion():
    """An other sense of the threat words is named in the reasons, so the second opinion does not add the threat."""
    text = "Een cliënt stuurt elke avond tientallen berichten: 'antwoord nou, ik weet dat je het leest'."
    reading = tr.read_categories(incident(reported_categories=[]), text, tr.default_rules())
    assert "bedreiging" in reading.ruled_out and "bedreiging" not in reading.categories, reading.reasons


@pytest.mark.parametrize("description, found", [
    ("De man hield mij bij de deur tegen en liet me niet weg.", True),
    ("Twee mannen hielden ons bij de uitgang tegen.", True),
    ("De bodes hielden hem tegen.", False),
    ("Een man op een scooter wilde er nog door, ik hield hem tegen.", False),
])
def test_held_back_is_intimidation_of_the_official_not_staff_stopping_someone(description, found):
    """vr19-2026.16: 'hield … tegen' is intimidatie (being kept from leaving) only with the official as the one held
    back; staff stopping the perpetrator is none."""
    result = triage(incident(reported_categories=[]), tr.default_rules(), description, None)
    assert ("intimidatie" in result.categories) == found, result.reasons
