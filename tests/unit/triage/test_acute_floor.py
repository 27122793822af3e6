"""Intake's acute check reads only what the acute floor needs (shared/triage_rules.py `acute_reason`, issue 25):
the same answer, word for word, as the whole reading triage starts from, on every development report, also as
a report at a home address and with other ticks, and with the rules' other way of counting ticks."""
from __future__ import annotations

import dataclasses
import functools

import pytest
import yaml

from services.triage.evaluation import DEVELOPMENT_PARTS, PARTS, incident_of, load_part
from shared import dutch_phrases as dp
from shared import triage_rules as tr

VARIANTS = {  # what else the reporter may have said beside the corpus report's own circumstances: every
    # report as written, a sixth of them each otherwise (a whole reading costs a few ms)
    "as written": ({}, slice(None)),
    "at home, other ticks": ({"location_type": "woning", "reported_categories": ["vernieling", "overig"]},
                             slice(0, None, 6)),
    "nothing ticked": ({"reported_categories": []}, slice(1, None, 6)),
}


@pytest.fixture(scope="module")
def reports():
    if not all(PARTS[p].exists() for p in DEVELOPMENT_PARTS):
        pytest.skip("tests/triage_corpus/development*.yaml are not there")
    return [item for p in DEVELOPMENT_PARTS for item in load_part(PARTS[p])]


@pytest.fixture(scope="module", autouse=True)
def each_text_analysed_once():
    """Both readings start from dp.analyse(text), a pure function of the text: analysed once per report for this
    module, not twice per reading and variant (a fifth of the module's CPU)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dp, "analyse", functools.lru_cache(maxsize=None)(dp.analyse))
        yield


def _differences(reports, rules, changes):
    wrong = []
    for item in reports:
        incident = {**incident_of(item), **changes}
        if tr.acute_reason(incident, item["text"], rules) != tr._acute_by_full_reading(incident, item["text"], rules):
            wrong.append(item["id"])
    return wrong


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_acute_check_answers_as_the_whole_reading(reports, variant):
    rules = tr.default_rules()
    assert rules.acute_floor is not None  # the shipped rules take the short way
    changes, which = VARIANTS[variant]
    assert _differences(reports[which], rules, changes) == []


def test_the_same_where_ticks_always_count(reports):
    raw = yaml.safe_load(tr.DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    rules = tr.parse_rules({**raw, "reported_categories": "always", "model": None}, str(tr.DEFAULT_RULES_FILE))
    assert _differences(reports[2::6], rules, {}) == []


def test_rules_that_look_at_all_categories_are_read_whole():
    rules = tr.default_rules()
    urgency = [*rules.urgency, {"when": {"only_categories": ["bedreiging"]}, "urgency": "acuut", "reason": "x"}]
    assert tr.AcuteFloor.of(dataclasses.replace(rules, urgency=tuple(urgency))) is None
    urgency = [*rules.urgency, {"when": {"categories_any": ["overig"]}, "urgency": "acuut", "reason": "x"}]
    assert tr.AcuteFloor.of(dataclasses.replace(rules, urgency=tuple(urgency))) is None


def test_a_derived_category_brings_what_it_is_derived_from():
    floor = tr.default_rules().acute_floor
    # intimidatie is acute in some circumstances, and derived from vernieling at the home address
    assert {"intimidatie", "vernieling"} <= floor.relevant
    assert all(rule["category"] in floor.relevant for rule in floor.derived)
