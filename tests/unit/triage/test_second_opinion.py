"""Triage's second opinion (services/triage/model.py): what it may add, what it may not take away, its
reasons, and that the shipped model file is the one the training script makes from today's corpus."""
from __future__ import annotations

import json

import pytest

from services.triage import model as m
from services.triage.domain import triage
from services.triage.rules import default_rules, parse_rules
from tests.unit.samples import consent, incident
from tests.unit.triage.test_rules_file import raw as raw_rules


def toy_model(**thresholds) -> m.Model:
    """One word per label: 'kaas' makes bedreiging likely, 'brood' acute danger, 'winkel' discriminatie."""
    labels = ["bedreiging", "discriminatie", "vernieling", m.ACUTE]
    features = ["w:brood", "w:kaas", "w:winkel"]
    return m.parse_model({
        "format": m.FORMAT, "version": "toy", "labels": labels, "features": features, "idf": [1.0, 1.0, 1.0],
        "coef": [{"1": 9.0}, {"2": -9.0}, {}, {"0": 3.5}], "intercept": [-3.0, -3.0, -3.0, -3.0],
        "thresholds": {"add_category": 0.5, "acute_hoog": 0.3, "acute_acuut": 0.9, **thresholds}})


def test_the_model_adds_a_category_the_rules_missed_with_a_reason_naming_its_words():
    result = triage(incident(reported_categories=[], consent=consent(police_referral=True)), default_rules(),
                    "Hij had het steeds over kaas.", toy_model())
    assert result.categories == ["bedreiging"] and result.urgency == "hoog"   # the rules' floor for a threat
    assert any("Lijkt op meldingen van het type bedreiging" in r and "kaas" in r for r in result.reasons)
    assert "police_referral" in result.decisions


def test_beside_a_crime_the_rules_found_the_model_needs_more_to_add_another():
    """kaas at weight 1.5: 62 % bedreiging; alone the model adds it from 50 %, beside the rules' insult from 70 %."""
    model = toy_model(add_beside_rules=0.7)
    model = m.Model(**{**model.__dict__, "coef": ({1: 1.5},) + model.coef[1:],
                       "intercept": (-1.0,) + model.intercept[1:]})
    alone = triage(incident(reported_categories=[]), default_rules(), "Hij had het steeds over kaas.", model)
    beside = triage(incident(reported_categories=[]), default_rules(), "Hij had het over kaas en schold me uit.", model)
    assert "bedreiging" in alone.categories
    assert beside.categories == ["verbale_agressie"]


def test_the_model_does_not_add_back_what_the_rules_read_and_took_out():
    """'dreigde niet' is negated by the rules ('telt niet als bedreiging: ontkend'): the model's kaas adds no threat."""
    result = triage(incident(reported_categories=[]), default_rules(), "Hij dreigde niet, hij praatte over kaas.",
                    toy_model())
    assert "bedreiging" not in result.categories
    assert any("telt niet als bedreiging: ontkend" in r for r in result.reasons)


def test_the_model_adds_nothing_to_a_report_the_reporter_calls_harmless():
    """The reporter's own 'niks aan de hand' (not inside a quote): the second opinion adds no category."""
    harmless = triage(incident(reported_categories=[]), default_rules(),
                      "Hij had het steeds over kaas. Niks aan de hand, ter info.", toy_model())
    quoted = triage(incident(reported_categories=[]), default_rules(),
                    "Hij zei: 'niks aan de hand, ik heb kaas'.", toy_model())
    assert harmless.categories == ["overig"]
    assert "bedreiging" in quoted.categories


def test_a_report_the_model_sees_something_in_is_not_judged_laag():
    """vr19-model-2026.6, keep_normaal: 'dreigde niet' is negated by the rules and the model may not add the threat
    back, so the report is 'overig'; the model still finds a threat likely, so it stays 'normaal', not 'laag'."""
    text = "Hij dreigde niet, hij praatte over kaas."
    without = triage(incident(reported_categories=[]), default_rules(), text, toy_model())
    kept = triage(incident(reported_categories=[]), default_rules(), text, toy_model(keep_normaal=0.25))
    nothing = triage(incident(reported_categories=[]), default_rules(), "Hij vroeg naar de winkel.",
                     toy_model(keep_normaal=0.25))
    assert without.categories == kept.categories == ["overig"] and without.urgency == "laag"
    assert kept.urgency == "normaal" and any("niet 'laag' maar 'normaal'" in r and "bedreiging" in r
                                             for r in kept.reasons)
    assert nothing.urgency == "laag"


def test_the_model_never_adds_verbal_aggression():
    model = toy_model()
    model = m.Model(**{**model.__dict__, "labels": ("verbale_agressie",) + model.labels[1:]})
    result = triage(incident(reported_categories=[]), default_rules(), "Hij had het steeds over kaas.", model)
    assert "verbale_agressie" not in result.categories


def test_the_model_adds_no_threat_beside_a_sexual_or_discriminating_remark_the_rules_found():
    """vr19-2026.11 (model.NOT_ADDED_BESIDE): a remark is words said, which the model reads like a threat's; beside
    an insult it still adds the threat from its threshold."""
    remark = triage(incident(reported_categories=[]), default_rules(),
                    "Hij had het over kaas en zei dat ik een lekker ding ben.", toy_model())
    insult = triage(incident(reported_categories=[]), default_rules(), "Hij had het over kaas en schold me uit.",
                    toy_model())
    assert remark.categories == ["seksuele_intimidatie"], remark.reasons
    assert "bedreiging" in insult.categories


def test_a_category_added_by_the_model_still_needs_consent_for_the_police():
    result = triage(incident(reported_categories=[]), default_rules(), "Hij had het steeds over kaas.",
                    toy_model())
    assert "bedreiging" in result.categories and "police_referral" not in result.decisions


def test_the_model_raises_urgency_and_says_so_but_never_lowers_it():
    raised = triage(incident(reported_categories=[]), default_rules(), "Er lag brood op de balie.", toy_model())
    assert raised.urgency == "hoog" and any("Lijkt op acute meldingen" in r for r in raised.reasons)
    knife = "Een man belde dat hij nu met een mes onderweg is om de burgemeester neer te steken."
    rules_alone = triage(incident(reported_categories=[]), default_rules(), knife, None)
    with_model = triage(incident(reported_categories=[]), default_rules(), knife, toy_model(acute_acuut=1.0))
    assert rules_alone.urgency == with_model.urgency == "acuut"


def test_the_model_may_doubt_a_category_but_never_a_threat_or_violence():
    text = "Hij schopte tegen mijn been en riep dat ik een vuile racist ben, en schreeuwde in de winkel."
    doubting = toy_model(doubt_category=0.2)
    alone = triage(incident(reported_categories=[]), default_rules(), text, None)
    with_model = triage(incident(reported_categories=[]), default_rules(), text, doubting)
    assert "fysiek_geweld" in alone.categories and "fysiek_geweld" in with_model.categories
    doubted = triage(incident(reported_categories=[]), default_rules(), "Hij zei: ga terug naar je eigen land. In de winkel.", doubting)
    assert "discriminatie" not in doubted.categories
    assert any("tweede mening" in r and "niet overgenomen" in r for r in doubted.reasons)


def test_without_a_description_the_model_says_nothing():
    result = triage(incident(reported_categories=["verbale_agressie"]), default_rules(), None, toy_model())
    assert result.categories == ["verbale_agressie"] and not any("tweede mening" in r for r in result.reasons)


def test_a_broken_model_file_fails_with_one_line(tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"format": 1, "version": "x"}')
    with pytest.raises(m.ModelError, match="model.json: KeyError"):
        m.load_model(path)
    path.write_text("{not json")
    with pytest.raises(m.ModelError, match="not valid JSON at line 1"):
        m.load_model(path)


def test_the_rules_name_a_model_file_beside_them_or_none():
    data = raw_rules()
    data["model"] = "../elders/model.pkl"
    with pytest.raises(Exception, match="model: must be the name of a .json file"):
        parse_rules(data, "/x/rules.yaml")
    data.pop("model")
    assert parse_rules(data, "/x/rules.yaml").model_file is None   # an old rules file: rules alone
    assert default_rules().model_file.endswith("deploy/rules/vr19-triage-model.json")


def test_the_shipped_model_is_trained_from_todays_development_corpus():
    """The model file names the development files it was trained on (train_model.MODEL_PARTS) and records their
    sha256; retrain after a change to one of them. A new development file lands without changing it."""
    train_model = pytest.importorskip("services.triage.train_model")
    shipped = json.loads(open(default_rules().model_file, encoding="utf-8").read())
    assert tuple(shipped["trained_on"]["parts"]) == train_model.MODEL_PARTS
    assert shipped["trained_on"]["corpus_sha256"] == train_model.corpus_digest(), \
        "the development corpus changed: run make triage-model and commit deploy/rules/vr19-triage-model.json"


def test_training_is_deterministic_and_makes_the_shipped_file(tmp_path):
    pytest.importorskip("sklearn")
    from services.triage import train_model
    out = tmp_path / "model.json"
    train_model.write(train_model.train(train_model.development()), out)
    assert out.read_text(encoding="utf-8") == open(default_rules().model_file, encoding="utf-8").read()


def test_cross_hand_trains_without_each_file_and_scores_it(tmp_path, monkeypatch):
    """`train_model --cross-hand`: for each development file a model trained on the others reads it; the
    pooled figures count every report once."""
    train_model = pytest.importorskip("services.triage.train_model")
    from services.triage import evaluation
    report = {"source": "balie", "channel": "balie", "location_type": "balie", "target_role": "ambtenaar",
              "reported_categories": [], "anonymous": False,
              "consent": {"contact": False, "police_referral": True, "inform_manager": False, "employer_reports": False},
              "expected": {"categories": ["verbale_agressie"], "urgency": "normaal", "decisions": ["police_referral"],
                           "crime_against_person": True}}
    import yaml
    for name, prefix in (("a", "D"), ("b", "E")):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump([{**report, "id": f"{prefix}00{i}", "text": f"Hij schold me uit, {name} {i}."}
                                        for i in (1, 2)]))
        monkeypatch.setitem(evaluation.PARTS, name, path)
    trained_on = []

    def trainer(items):
        trained_on.append(sorted(it["id"] for it in items))
        return {"format": m.FORMAT, "version": "toy", "labels": ["bedreiging", m.ACUTE], "features": ["w:kaas"],
                "idf": [1.0], "coef": [{}, {}], "intercept": [-3.0, -3.0],
                "thresholds": {"add_category": 0.5, "acute_hoog": 0.3, "acute_acuut": 0.9}}
    folds, pooled = train_model.cross_hand(default_rules(), ("a", "b"), trainer)
    assert trained_on == [["E001", "E002"], ["D001", "D002"]]
    assert [(name, f.reports) for name, f in folds] == [("a", 2), ("b", 2)]
    assert pooled.reports == 4 and pooled.recall() == 1.0 and pooled.referral_rate == 1.0
    assert "cross-hand, pooled" in train_model.cross_hand_report(folds, pooled)


def weak_model(**thresholds) -> m.Model:
    """Every category it knows unlikely (5 %) whatever the text: what doubts the rules' weak finds."""
    labels = ["verbale_agressie", "bedreiging", "intimidatie", "fysiek_geweld", "vernieling", m.ACUTE]
    return m.parse_model({
        "format": m.FORMAT, "version": "weak", "labels": labels, "features": ["w:kaas"], "idf": [1.0],
        "coef": [{} for _ in labels], "intercept": [-3.0] * len(labels),
        "thresholds": {"add_category": 0.5, "acute_hoog": 0.3, "acute_acuut": 0.9, **thresholds}})


def test_a_category_the_rules_found_in_one_place_only_is_doubted_when_the_model_finds_it_unlikely():
    """vr19-model-2026.7, doubt_weak: one word of damage, 5 % likely: not taken, with the reason; in two places, kept;
    without doubt_weak (every older model file), kept."""
    once = "Bij het weggaan heeft hij de ruit ingegooid."
    twice = "Hij heeft de ruit ingegooid. Daarna heeft hij ook nog de deur vernield."
    doubted = triage(incident(reported_categories=[]), default_rules(), once, weak_model(doubt_weak=0.2))
    kept = triage(incident(reported_categories=[]), default_rules(), twice, weak_model(doubt_weak=0.2))
    older = triage(incident(reported_categories=[]), default_rules(), once, weak_model())
    assert "vernieling" not in doubted.categories and "vernieling" in kept.categories and "vernieling" in older.categories
    assert any("De regels vonden vernieling ('ingegooid') op één plek" in r and "5%" in r for r in doubted.reasons)


def test_weak_doubt_never_touches_insults_threats_ticks_or_what_makes_a_report_acute():
    model = weak_model(doubt_weak=0.2)
    insult = triage(incident(reported_categories=[]), default_rules(), "Hij noemde mij een klootzak.", model)
    threat = triage(incident(reported_categories=[]), default_rules(), "Hij dreigde mij.", model)
    ticked = triage(incident(reported_categories=["vernieling"]), default_rules(),
                    "Bij het weggaan heeft hij de ruit ingegooid.", model)
    alone = triage(incident(reported_categories=[]), default_rules(), "Hij sloeg mij met een honkbalknuppel.", None)
    acute = triage(incident(reported_categories=[]), default_rules(), "Hij sloeg mij met een honkbalknuppel.", model)
    assert "verbale_agressie" in insult.categories and "bedreiging" in threat.categories
    assert "vernieling" in ticked.categories
    assert alone.urgency == "acuut" and acute.urgency == "acuut" and "fysiek_geweld" in acute.categories


def test_a_doubted_category_the_rules_can_make_hoog_keeps_the_report_normaal():
    """'sloeg' alone is doubted (5 %): the report is 'overig', but the rules read words of violence, so it is not
    judged 'laag' on that doubt alone."""
    result = triage(incident(reported_categories=[]), default_rules(), "Hij sloeg mij bij de balie.", weak_model(doubt_weak=0.2))
    assert result.categories == ["overig"] and result.urgency == "normaal"
    assert any("niet 'laag' maar 'normaal'" in r and "fysiek_geweld" in r for r in result.reasons)


def test_beside_ondermijning_the_rules_found_the_model_needs_as_much_as_beside_a_crime_against_the_person():
    """vr19-2026.14 (model.CRIME_FOUND): a bribe offered is words of offers and favours, which the model reads like a
    veiled threat's; beside the rules' ondermijning its threat needs `add_beside_rules`, not its own lower threshold
    (kaas at 62 %: alone added from 50 %, beside the bribe not below 70 %)."""
    model = toy_model(add_beside_rules=0.7, add_beside_rules_for={"bedreiging": 0.55})
    model = m.Model(**{**model.__dict__, "coef": ({1: 1.5},) + model.coef[1:],
                       "intercept": (-1.0,) + model.intercept[1:]})
    bribe = "Hij had het over kaas en schoof een envelop met geld over de balie voor de vergunning."
    assert "ondermijning" in triage(incident(reported_categories=[]), default_rules(), bribe, None).categories
    beside = triage(incident(reported_categories=[]), default_rules(), bribe, model)
    assert beside.categories == ["ondermijning"], beside.reasons
    assert "bedreiging" in triage(incident(reported_categories=[]), default_rules(), "Hij had het over kaas.",
                                  model).categories


def test_the_model_adds_no_doxing_beside_a_discriminating_remark_the_rules_found():
    """vr19-2026.14 (model.NOT_ADDED_BESIDE): a slur names origin or faith, which the model reads like personal data;
    beside an insult it still adds doxing from its threshold."""
    model = m.parse_model({
        "format": m.FORMAT, "version": "toy", "labels": ["doxing", m.ACUTE], "features": ["w:kaas"], "idf": [1.0],
        "coef": [{"0": 9.0}, {}], "intercept": [-3.0, -3.0],
        "thresholds": {"add_category": 0.5, "add_beside_rules": 0.5, "acute_hoog": 0.3, "acute_acuut": 0.9}})
    slur = triage(incident(reported_categories=[]), default_rules(),
                  "Hij had het over kaas en riep 'ga terug naar je eigen land'.", model)
    insult = triage(incident(reported_categories=[]), default_rules(), "Hij had het over kaas en schold me uit.", model)
    assert "discriminatie" in slur.categories and "doxing" not in slur.categories, slur.reasons
    assert "doxing" in insult.categories, insult.reasons


def test_the_model_adds_no_threat_beside_a_sexual_or_discriminating_remark_it_adds_itself():
    """vr19-2026.16: the second opinion's additions are weighed together, so NOT_ADDED_BESIDE holds beside a sexual or
    discriminating remark the model itself reads ('kaas' a threat, 'worst' a sexual remark, 'winkel' vandalism here);
    beside vandalism it reads, the threat is still added."""
    model = m.parse_model({
        "format": m.FORMAT, "version": "toy", "labels": ["bedreiging", "seksuele_intimidatie", "vernieling", m.ACUTE],
        "features": ["w:kaas", "w:winkel", "w:worst"], "idf": [1.0, 1.0, 1.0],
        "coef": [{"0": 9.0}, {"2": 9.0}, {"1": 9.0}, {}], "intercept": [-3.0, -3.0, -3.0, -3.0],
        "thresholds": {"add_category": 0.5, "acute_hoog": 0.3, "acute_acuut": 0.9}})
    remark = triage(incident(reported_categories=[]), default_rules(), "Hij had het over kaas en worst.", model)
    damage = triage(incident(reported_categories=[]), default_rules(), "Hij had het over kaas en de winkel.", model)
    assert remark.categories == ["seksuele_intimidatie"], remark.reasons
    assert {"bedreiging", "vernieling"} <= set(damage.categories), damage.reasons
