"""Inter-labeller agreement (services/triage/evaluation.py `agreement`): a second labelling counted against the
first with triage's own counting, both ways, on fake reports."""
from __future__ import annotations

import pytest
import yaml

from services.triage import evaluation
from services.triage.evaluation import agreement


def report(id_, categories, urgency, decisions=("aftercare",), text=None):
    person = bool(set(categories) - {"vernieling", "ondermijning", "overig"})
    return {"id": id_, "text": text or f"melding {id_}", "target_role": "ambtenaar",
            "consent": {"contact": True, "police_referral": True, "inform_manager": False, "employer_reports": False},
            "expected": {"categories": list(categories), "urgency": urgency, "decisions": list(decisions),
                         "crime_against_person": person}}


FIRST = {
    "K001": report("K001", ["bedreiging", "verbale_agressie"], "hoog", ["police_referral", "aftercare"]),
    "K002": report("K002", ["intimidatie"], "acuut", ["police_referral", "aftercare", "safety_advice"]),
    "K003": report("K003", ["overig"], "laag"),
}
SECOND = [
    report("K001", ["verbale_agressie"], "normaal", ["police_referral", "aftercare"]),       # the threat not read
    report("K002", ["intimidatie", "bedreiging"], "normaal", ["police_referral", "aftercare"]),
    report("K003", ["overig"], "laag"),
]


def test_the_second_hand_is_counted_against_the_first_as_triage_is():
    second, first = agreement(SECOND, FIRST)
    # first: 4 categories; second: 4; 3 shared (verbale_agressie, intimidatie, overig)
    assert (second.recall(), second.precision()) == (0.75, 0.75)
    assert second.false_neg["bedreiging"] == 1 and second.false_pos["bedreiging"] == 1
    assert second.urgency_exact == 1
    assert second.urgency_one_below["hoog"] == 1        # K001: hoog read as normaal
    assert second.urgency_too_low["acuut"] == 1         # K002: acuut read as normaal, two steps
    assert second.decisions_missed["safety_advice"] == 1
    assert (second.referral_proposed, second.referral_due) == (2, 2)
    assert [m.id for m in second.misses] == ["K001", "K002"]


def test_the_symmetric_view_swaps_recall_and_precision():
    second, first = agreement(SECOND, FIRST)
    assert first.recall("intimidatie") == second.precision("intimidatie")
    assert first.precision("bedreiging") == second.recall("bedreiging")
    assert first.f1() == second.f1() == pytest.approx(0.75)
    assert first.urgency_above == 2 and first.decisions_added["safety_advice"] == 1


def test_a_report_without_first_labels_or_with_another_text_is_refused():
    with pytest.raises(ValueError, match="no first labels for H001"):
        agreement([report("H001", ["overig"], "laag")], FIRST)
    with pytest.raises(ValueError, match="not the same report"):
        agreement([report("K003", ["overig"], "laag", text="iets anders")], FIRST)


def test_the_command_prints_both_views_and_where_the_hands_differ(tmp_path, monkeypatch, capsys):
    path = tmp_path / "second.yaml"
    path.write_text(yaml.safe_dump(SECOND, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(evaluation, "first_labels", lambda: FIRST)
    assert evaluation.main(["--agreement", str(path), "--misses"]) == 0
    out = capsys.readouterr().out
    assert "tweede hand t.o.v. de eerste" in out and "eerste hand t.o.v. de tweede" in out
    assert "F1 overall 0.750" in out
    assert "  bedreiging               2  (1 / 1)" in out
    assert "- K002: " in out and "- K003" not in out


def test_the_second_hand_file_names_development_reports_only():
    path = evaluation.CORPUS / "agreement" / "second_hand.yaml"
    if not path.exists() or not evaluation.PARTS["development15"].exists():
        pytest.skip("the second labelling or the development files are not there")
    second = evaluation.load_part(path)
    assert len(second) == 200 and not any(it["id"].startswith("H") for it in second)
    reference, swapped = agreement(second, evaluation.first_labels())
    assert reference.reports == swapped.reports == 200
