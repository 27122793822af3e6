"""The labelled triage corpus (tests/triage_corpus/): valid codes, the guide's mechanical policy,
the minimum counts, and no held-out report leaking into a development part."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from shared import vocabulary
from shared.config import read_yaml

CORPUS = Path(__file__).resolve().parents[1] / "triage_corpus"

# The two categories of issue 17 are accepted by name until shared/vocabulary.py has them.
CATEGORIES = set(vocabulary.CATEGORIES) | {"seksuele_intimidatie", "doxing"}
SOURCES = {"balie", "telefoon", "email", "brief", "social_media", "raadsvergadering", "huisbezoek",
           "handhaving", "ondermijning", "sociaal_domein", "vergunningen", "woning", "buitendienst",
           "kantoor", "openbare_ruimte"}
# README.md: any category but ondermijning and overig is a crime the police referral is for;
# all of those but vandalism are crimes against the person.
CRIMES = CATEGORIES - {"ondermijning", "overig"}
AGAINST_PERSON = CRIMES - {"vernieling"}
SAFETY = {"bedreiging", "intimidatie", "fysiek_geweld", "doxing"}
AT_LEAST_HOOG = {"bedreiging", "fysiek_geweld", "ondermijning", "doxing"}
RANK = {"laag": 0, "normaal": 1, "hoog": 2, "acuut": 3}

ITEM_KEYS = {"id", "source", "channel", "location_type", "target_role", "reported_categories",
             "consent", "anonymous", "text", "expected"}
EXPECTED_KEYS = {"categories", "urgency", "decisions", "crime_against_person"}

# part: (file, id prefix, at least this many reports, at least this many per category)
PARTS = {
    "heldout": ("heldout.yaml", "H", 130, 12),
    "development": ("development.yaml", "D", 220, 20),
    "development2": ("development2.yaml", "E", 450, 40),
    "development3": ("development3.yaml", "F", 300, 15),
    "development4": ("development4.yaml", "G", 30, 0),
    "development5": ("development5.yaml", "K", 200, 10),
    "development6": ("development6.yaml", "L", 200, 10),
    "development7": ("development7.yaml", "M", 150, 10),
    "development8": ("development8.yaml", "N", 150, 10),
    "development9": ("development9.yaml", "P", 150, 10),
    "development10": ("development10.yaml", "Q", 200, 10),
    "development11": ("development11.yaml", "R", 200, 10),
    "development12": ("development12.yaml", "S", 200, 10),
    "development13": ("development13.yaml", "T", 200, 10),
    "development14": ("development14.yaml", "U", 200, 10),
    "development15": ("development15.yaml", "V", 200, 10),
    "development16": ("development16.yaml", "W", 200, 10),
    "development17": ("development17.yaml", "X", 200, 10),
}
# The development parts: tuned on, so each is checked against the held-out part.
DEVELOPMENT = [part for part in PARTS if part != "heldout"]
# Word-sequence similarity above which a development text counts as a near-duplicate of a
# held-out one (a paraphrase keeping most of the words in order scores well above it; two
# different reports of the same kind score below 0.5: 0.41 at most when written).
NEAR = 0.6


def load(part: str) -> list[dict]:
    return read_yaml((CORPUS / PARTS[part][0]).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[dict]]:
    return {part: load(part) for part in PARTS}


def problems(item: dict, prefix: str) -> list[str]:
    """Everything wrong with one report, against README.md's format and mechanical policy."""
    found = []
    keys = set(item)
    if not ITEM_KEYS <= keys <= ITEM_KEYS | {"note"}:
        return [f"keys {sorted(keys ^ ITEM_KEYS)}"]
    if not re.fullmatch(prefix + r"\d{3,}", str(item["id"])):
        found.append(f"id {item['id']!r}")
    for field, allowed in (("source", SOURCES), ("channel", vocabulary.CHANNELS),
                           ("location_type", vocabulary.LOCATION_TYPES), ("target_role", vocabulary.TARGET_ROLES)):
        if item[field] not in allowed:
            found.append(f"{field} {item[field]!r}")
    if not set(item["reported_categories"]) <= CATEGORIES:
        found.append(f"reported_categories {item['reported_categories']}")
    consent = item["consent"]
    if set(consent) != set(vocabulary.CONSENTS) or not all(isinstance(x, bool) for x in consent.values()):
        return found + [f"consent {consent}"]
    if not isinstance(item["anonymous"], bool) or (item["anonymous"] and consent["contact"]):
        found.append("an anonymous report has no contact consent")
    if not isinstance(item["text"], str) or not item["text"].strip():
        found.append("empty text")

    expected = item["expected"]
    if set(expected) != EXPECTED_KEYS:
        return found + [f"expected keys {sorted(expected)}"]
    cats, urgency, decisions = expected["categories"], expected["urgency"], expected["decisions"]
    if not cats or len(set(cats)) != len(cats) or not set(cats) <= CATEGORIES:
        return found + [f"categories {cats}"]
    if "overig" in cats and len(cats) > 1:
        found.append("overig only when nothing else applies")
    if urgency not in vocabulary.URGENCIES:
        return found + [f"urgency {urgency!r}"]
    if len(set(decisions)) != len(decisions) or not set(decisions) <= set(vocabulary.DECISIONS):
        return found + [f"decisions {decisions}"]

    cats, decisions = set(cats), set(decisions)
    crime = bool(cats & CRIMES)
    must = {
        "police_referral": crime and consent["police_referral"],
        "aftercare": consent["contact"],
        "inform_mayor": item["target_role"] in vocabulary.POLITICAL_OFFICE_HOLDERS,
        "riec_signal": "ondermijning" in cats,
        "inform_manager": consent["inform_manager"],
    }
    for decision, due in must.items():
        if due != (decision in decisions):
            found.append(f"{decision} {'missing' if due else 'not due'}")
    if "safety_advice" in decisions and not cats & SAFETY:
        found.append("safety_advice without a threat, intimidation, violence or doxing")
    if "doxing" in cats and "safety_advice" not in decisions:
        found.append("doxing without safety_advice")
    if expected["crime_against_person"] is not bool(cats & AGAINST_PERSON):
        found.append(f"crime_against_person should be {bool(cats & AGAINST_PERSON)}")
    if cats & AT_LEAST_HOOG and RANK[urgency] < RANK["hoog"]:
        found.append(f"{sorted(cats & AT_LEAST_HOOG)} is at least hoog")
    if urgency == "laag" and not cats <= {"overig", "verbale_agressie"}:
        found.append("laag only for overig or settled verbale_agressie")
    return found


@pytest.mark.parametrize("part", PARTS)
def test_every_report_follows_the_guide(corpus, part):
    prefix = PARTS[part][1]
    wrong = {item.get("id", i): p for i, item in enumerate(corpus[part])
             if (p := problems(item, prefix))}
    assert wrong == {}


def test_ids_are_unique_across_the_parts(corpus):
    ids = Counter(item["id"] for items in corpus.values() for item in items)
    assert [i for i, n in ids.items() if n > 1] == []


@pytest.mark.parametrize("part", PARTS)
def test_each_part_is_big_enough_for_every_category(corpus, part):
    _, _, at_least, per_category = PARTS[part]
    items = corpus[part]
    per = Counter(c for item in items for c in item["expected"]["categories"])
    assert len(items) >= at_least
    assert {c: per[c] for c in CATEGORIES if per[c] < per_category} == {}


def test_heldout_has_enough_acute_reports_and_crimes_with_police_consent(corpus):
    items = corpus["heldout"]
    assert sum(item["expected"]["urgency"] == "acuut" for item in items) >= 15
    assert sum(item["consent"]["police_referral"] and item["expected"]["crime_against_person"]
               for item in items) >= 25


def normalised(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@pytest.mark.parametrize("part", PARTS)
def test_no_text_twice_within_a_part(corpus, part):
    texts = Counter(normalised(item["text"]) for item in corpus[part])
    assert [t for t, n in texts.items() if n > 1] == []


def _word_bags(texts: list[list[str]], columns: dict[str, int]) -> sparse.csr_matrix:
    """One row per text, one column per (word, its n-th occurrence): the product of two such matrices counts,
    for every pair of texts, the words they share with their multiplicity (SequenceMatcher.quick_ratio's matches)."""
    indices, indptr = [], [0]
    for words in texts:
        seen: Counter = Counter()
        for word in words:
            seen[word] += 1
            indices.append(columns.setdefault(f"{word}#{seen[word]}", len(columns)))
        indptr.append(len(indices))
    return sparse.csr_matrix((np.ones(len(indices), dtype=np.int32), indices, indptr), shape=(len(texts), 1 << 22))


def near_duplicates(items: list[dict], others: list[dict]) -> list[tuple]:
    """(id, other id, ratio) for each text of items that is, contains or nearly repeats (normalised)
    a text of others.

    Every pair is first bounded in one sparse product (the shared words of each pair, with their multiplicity):
    a ratio of NEAR needs that many shared words, and a contained text of n words all but its first and last
    (which may be parts of longer words). Only the pairs that pass are compared word by word, so checking the
    whole corpus takes seconds where comparing every pair took minutes."""
    mine = [normalised(item["text"]).split() for item in items]
    theirs = [normalised(item["text"]).split() for item in others]
    columns: dict[str, int] = {}
    a, b = _word_bags(mine, columns), _word_bags(theirs, columns)
    mine_len = np.array([len(w) for w in mine])
    their_len = np.array([len(w) for w in theirs])
    leaks = []
    for start in range(0, len(mine), 256):
        shared = (a[start:start + 256] @ b.T).toarray()
        lengths = mine_len[start:start + 256, None] + their_len[None, :]
        may_repeat = 2 * shared >= NEAR * lengths - 1e-9
        may_contain = (their_len[None, :] >= 5) & (shared >= their_len[None, :] - 2)
        for i, j in zip(*np.nonzero(may_repeat | may_contain)):
            words, hwords = mine[start + i], theirs[j]
            if len(hwords) >= 5 and " ".join(hwords) in " ".join(words):
                leaks.append((items[start + i]["id"], others[j]["id"], 1.0))
                continue
            matcher = SequenceMatcher(None, hwords, words, autojunk=False)
            if (ratio := matcher.ratio()) >= NEAR:
                leaks.append((items[start + i]["id"], others[j]["id"], round(ratio, 2)))
    return leaks


@pytest.mark.parametrize("part", DEVELOPMENT)
def test_no_heldout_report_in_a_development_part(corpus, part):
    """Exact, contained or near-duplicate (normalised) held-out texts in development fail."""
    assert near_duplicates(corpus[part], corpus["heldout"]) == []


def test_the_second_development_part_does_not_repeat_the_first(corpus):
    """development2.yaml was written to vary the wording: none of its texts repeats a development one."""
    assert near_duplicates(corpus["development2"], corpus["development"]) == []


def test_the_third_development_part_repeats_neither_other(corpus):
    """development3.yaml was written by a third hand: none of its texts repeats a development or
    development2 one."""
    assert near_duplicates(corpus["development3"], corpus["development"] + corpus["development2"]) == []


def test_the_fourth_development_part_repeats_no_other(corpus):
    """development4.yaml was written after the third, aimed at the weak spots docs/triage.md names: none of
    its texts repeats an earlier development one."""
    earlier = corpus["development"] + corpus["development2"] + corpus["development3"]
    assert near_duplicates(corpus["development4"], earlier) == []


@pytest.mark.parametrize("part", ["development5", "development6", "development7", "development8", "development9",
                                  "development10", "development11", "development12", "development13",
                                  "development14", "development15", "development16", "development17"])
def test_the_natural_hands_repeat_no_other_development_part(corpus, part):
    """development5-17.yaml were written from the labelling guide alone, each by a new hand: none of their
    texts repeats an earlier development one or another new hand's."""
    earlier = [item for name in DEVELOPMENT if name != part for item in corpus[name]]
    assert near_duplicates(corpus[part], earlier) == []


def test_the_third_development_part_is_mostly_hard_negatives_and_varies_consent(corpus):
    """development3.yaml was written against triage's false finds: a third of it is harmless reports
    (`overig`), beside acute reports, reports without police consent and anonymous ones."""
    items = corpus["development3"]
    assert sum(item["expected"]["categories"] == ["overig"] for item in items) * 3 >= len(items)
    assert sum(item["expected"]["urgency"] == "acuut" for item in items) >= 30
    assert sum(not item["consent"]["police_referral"] for item in items) * 3 >= len(items)
    assert sum(item["anonymous"] for item in items) >= 10


def test_the_second_development_part_varies_urgency_and_consent(corpus):
    """Acute reports to tune the acute floor on, and reports without police consent (a third) to
    hold the never-without-consent rule to."""
    items = corpus["development2"]
    assert sum(item["expected"]["urgency"] == "acuut" for item in items) >= 60
    assert sum(not item["consent"]["police_referral"] for item in items) * 3 >= len(items)
    assert sum(item["anonymous"] for item in items) >= 10
    assert sum(bool(item["reported_categories"]) for item in items) * 6 >= len(items)


def test_the_second_labelling_follows_the_guide_and_copies_the_reports(corpus):
    """agreement/second_hand.yaml (a second hand's labels of 200 development reports, for inter-labeller
    agreement; no part of the corpus above): the same mechanical policy, the development reports' input unchanged."""
    path = CORPUS / "agreement" / "second_hand.yaml"
    items = read_yaml(path.read_text(encoding="utf-8"))
    first = {item["id"]: item for part in DEVELOPMENT for item in corpus[part]}
    assert {item["id"]: p for item in items if (p := problems(item, item["id"][0]))} == {}
    assert [item["id"] for item in items if item["id"] not in first] == []
    changed = [item["id"] for item in items
               if {k: v for k, v in item.items() if k not in ("expected", "note")}
               != {k: v for k, v in first[item["id"]].items() if k not in ("expected", "note")}]
    assert changed == []
