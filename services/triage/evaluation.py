"""How well triage reads reports: the labelled corpus (tests/triage_corpus/) scored per part.

`make triage-eval` prints the development files together and the held-out part; `make test` guards
the development part and the validation split (tests/unit/triage/test_corpus_evaluation.py). The
honest validation figures of the second opinion come from `python -m services.triage.train_model
--validate` (a model trained without the validation split). The held-out part is read only here, to score it:
nothing is tuned on it (tests/triage_corpus/README.md).

    python -m services.triage.evaluation [--part development|development2|…|development15|development16|development17|training|validation|heldout|both]
        [--misses] [--ranges H001-H153,H154-H303] [--rules-alone]

`--agreement FILE` scores a second labelling of development reports against their first labels in the
development files, and the first against the second (inter-labeller agreement, `make triage-agreement`).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path


from shared import vocabulary
from shared.config import REPO_ROOT, read_yaml

from services.triage import domain
from services.triage.rules import Rules, default_rules

CORPUS = REPO_ROOT / "tests" / "triage_corpus"
PARTS = {"development": CORPUS / "development.yaml", "development2": CORPUS / "development2.yaml",
         "development3": CORPUS / "development3.yaml", "development4": CORPUS / "development4.yaml",
         "development5": CORPUS / "development5.yaml", "development6": CORPUS / "development6.yaml",
         "development7": CORPUS / "development7.yaml", "development8": CORPUS / "development8.yaml",
         "development9": CORPUS / "development9.yaml", "development10": CORPUS / "development10.yaml",
         "development11": CORPUS / "development11.yaml", "development12": CORPUS / "development12.yaml",
         "development13": CORPUS / "development13.yaml",
         "development14": CORPUS / "development14.yaml",
         "development15": CORPUS / "development15.yaml",
         "development16": CORPUS / "development16.yaml",
         "development17": CORPUS / "development17.yaml", "heldout": CORPUS / "heldout.yaml"}
DEVELOPMENT_PARTS = ("development", "development2", "development3", "development4", "development5", "development6",
                     "development7", "development8", "development9", "development10", "development11", "development12",
                     "development13", "development14", "development15", "development16", "development17")
# The fixed split of the development parts (docs/triage.md): every third report of every development file but
# development.yaml (E003, E006, …, K003, …, P198) is the validation split, which the regression guard reads with
# a model trained on the rest (the training split; development.yaml, on which the rules were first written,
# trains whole). The shipped model is trained on every development file; its settings are chosen by cross-hand
# validation (train_model --choose-cross-hand). Never the held-out part.
VALIDATION_EVERY = 3
TRAINING_ONLY = "D"   # the id prefix of development.yaml


def is_validation(item: dict) -> bool:
    return item["id"][0] != TRAINING_ONLY and int(item["id"][1:]) % VALIDATION_EVERY == 0


def split(name: str, parts: tuple = DEVELOPMENT_PARTS) -> list[dict]:
    """`training` (development.yaml and two thirds of the later parts) or `validation` (the other third),
    of these development parts."""
    items = [it for part in parts for it in load_part(PARTS[part])]
    return [it for it in items if is_validation(it) == (name == "validation")]


RANK = domain.URGENCY_RANK
OCCURRED_AT = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@dataclass
class Miss:
    id: str
    text: str
    expected: dict
    got: domain.TriageResult
    what: list[str]


@dataclass
class Figures:
    part: str
    reports: int = 0
    true_pos: Counter = field(default_factory=Counter)
    false_pos: Counter = field(default_factory=Counter)
    false_neg: Counter = field(default_factory=Counter)
    urgency_exact: int = 0
    urgency_above: int = 0
    urgency_one_below: Counter = field(default_factory=Counter)   # expected urgency -> count
    urgency_too_low: Counter = field(default_factory=Counter)     # acuut below hoog, hoog below normaal
    decisions_missed: Counter = field(default_factory=Counter)
    decisions_added: Counter = field(default_factory=Counter)
    referral_due: int = 0           # consent and a crime against the person
    referral_proposed: int = 0
    referral_without_consent: int = 0
    seconds: float = 0.0            # wall clock
    cpu_seconds: float = 0.0        # this process's CPU time: what the reading costs, whatever the load
    misses: list[Miss] = field(default_factory=list)
    results: dict = field(default_factory=dict, repr=False)   # report id -> its TriageResult

    @staticmethod
    def _ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    def recall(self, category: str | None = None) -> float:
        if category:
            return self._ratio(self.true_pos[category], self.true_pos[category] + self.false_neg[category])
        tp = sum(self.true_pos.values())
        return self._ratio(tp, tp + sum(self.false_neg.values()))

    def precision(self, category: str | None = None) -> float:
        if category:
            return self._ratio(self.true_pos[category], self.true_pos[category] + self.false_pos[category])
        tp = sum(self.true_pos.values())
        return self._ratio(tp, tp + sum(self.false_pos.values()))

    def f1(self, category: str | None = None) -> float:
        p, r = self.precision(category), self.recall(category)
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def referral_rate(self) -> float:
        return self._ratio(self.referral_proposed, self.referral_due)

    @property
    def acute_too_low(self) -> int:
        return self.urgency_too_low["acuut"]


def load_part(path: Path) -> list[dict]:
    items = read_yaml(path.read_text(encoding="utf-8")) or []
    if not isinstance(items, list):
        raise ValueError(f"{path}: must be a list of reports")
    return items


def incident_of(item: dict) -> dict:
    """The incident_reported payload of a corpus report (what triage receives beside the text)."""
    return {
        "channel": item.get("channel", "formulier"),
        "occurred_at": OCCURRED_AT,
        "location_type": item["location_type"],
        "target_role": item["target_role"],
        "reported_categories": list(item.get("reported_categories") or []),
        "anonymous": bool(item.get("anonymous")),
        "perpetrator_count": 1,
        "consent": {name: bool((item.get("consent") or {}).get(name)) for name in vocabulary.CONSENTS},
        "direct_danger": bool(item.get("direct_danger")),
    }


def evaluate(items: list[dict], part: str, rules: Rules | None = None, model=domain.RULES_MODEL) -> Figures:
    """Scores triage on these reports; `model`: the second opinion (default the rules'; None: rules alone)."""
    rules = rules or default_rules()
    started, cpu = time.perf_counter(), time.process_time()
    results = [(item, domain.triage(incident_of(item), rules, item["text"], model)) for item in items]
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    figures = evaluate_results(results, part)
    figures.seconds, figures.cpu_seconds = seconds, cpu_seconds
    return figures


def evaluate_results(results: list[tuple], part: str) -> Figures:
    """Counts (report, triage result) pairs against the reports' labels."""
    figures = Figures(part)
    for item, got in results:
        figures.results[item["id"]] = got
        figures.reports += 1
        expected = item["expected"]
        what = []
        want, have = set(expected["categories"]), set(got.categories)
        for c in want & have:
            figures.true_pos[c] += 1
        for c in have - want:
            figures.false_pos[c] += 1
        for c in want - have:
            figures.false_neg[c] += 1
        if want != have:
            what.append(f"categorieën {sorted(have)} i.p.v. {sorted(want)}")
        gap = RANK[expected["urgency"]] - RANK[got.urgency]
        if gap == 0:
            figures.urgency_exact += 1
        elif gap < 0:
            figures.urgency_above += 1
        else:
            (figures.urgency_too_low if gap >= 2 else figures.urgency_one_below)[expected["urgency"]] += 1
            what.append(f"urgentie {got.urgency} i.p.v. minstens {expected['urgency']}"
                        + (" (te laag)" if gap >= 2 else ""))
        want_d, have_d = set(expected["decisions"]), set(got.decisions)
        for d in want_d - have_d:
            figures.decisions_missed[d] += 1
        for d in have_d - want_d:
            figures.decisions_added[d] += 1
        if want_d != have_d:
            what.append(f"besluiten mist {sorted(want_d - have_d)}, extra {sorted(have_d - want_d)}")
        consent = bool((item.get("consent") or {}).get("police_referral"))
        if consent and expected.get("crime_against_person"):
            figures.referral_due += 1
            figures.referral_proposed += "police_referral" in have_d
        if "police_referral" in have_d and not consent:
            figures.referral_without_consent += 1
        if what:
            figures.misses.append(Miss(item["id"], item["text"], expected, got, what))
    return figures


def report(f: Figures, show_misses: bool) -> str:
    timing = (f", {f.seconds / max(f.reports, 1) * 1000:.2f} ms per melding "
              f"({f.cpu_seconds / max(f.reports, 1) * 1000:.2f} ms CPU)") if f.seconds else ""
    lines = [f"== {f.part}: {f.reports} meldingen{timing}",
             f"categorieën overall: recall {f.recall():.3f}  precisie {f.precision():.3f}",
             f"  {'categorie':22} {'recall':>7} {'precisie':>9} {'verwacht':>9} {'gevonden':>9}"]
    seen = sorted(set(f.true_pos) | set(f.false_pos) | set(f.false_neg),
                  key=lambda c: (vocabulary.category_codes() + (c,)).index(c))
    for c in seen:
        lines.append(f"  {c:22} {f.recall(c):7.3f} {f.precision(c):9.3f} "
                     f"{f.true_pos[c] + f.false_neg[c]:9d} {f.true_pos[c] + f.false_pos[c]:9d}")
    one_below = ", ".join(f"{u} {n}" for u, n in sorted(f.urgency_one_below.items())) or "0"
    lines += [
        f"urgentie: exact {f.urgency_exact} van {f.reports}; hoger {f.urgency_above}; "
        f"één stap lager {one_below}",
        f"urgentie te laag: acuut onder hoog {f.urgency_too_low['acuut']}, hoog onder normaal "
        f"{f.urgency_too_low['hoog']}, normaal onder laag 0",
        "besluiten gemist: " + (", ".join(f"{d} {n}" for d, n in sorted(f.decisions_missed.items())) or "geen"),
        "besluiten ten onrechte: " + (", ".join(f"{d} {n}" for d, n in sorted(f.decisions_added.items())) or "geen"),
        f"doorverwijzing voorgesteld bij toestemming en misdrijf tegen de persoon: {f.referral_proposed} van "
        f"{f.referral_due} ({f.referral_rate * 100:.1f} %)",
        f"doorverwijzing zonder toestemming: {f.referral_without_consent}",
    ]
    if show_misses:
        lines.append(f"missers ({len(f.misses)}):")
        for m in f.misses:
            lines.append(f"- {m.id}: {'; '.join(m.what)}")
            lines.append(f"    \"{' '.join(m.text.split())}\"")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="triage-eval", description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=DEVELOPMENT_PARTS + ("training", "validation", "heldout", "both"),
                        default="both", help="both: development (all development files) and held-out")
    parser.add_argument("--misses", action="store_true",
                        help="also list the development part's misses (the held-out part's are always listed)")
    parser.add_argument("--ranges", type=id_ranges, default=(),
                        help="also the figures of these id ranges of the part, e.g. H001-H153,H154-H303 "
                             "(the reports written before and after a change), from the same run")
    parser.add_argument("--rules-alone", action="store_true",
                        help="score the rules without the second opinion the rules file names")
    parser.add_argument("--agreement", type=Path, metavar="FILE",
                        help="instead: a second labelling of development reports (e.g. "
                             "tests/triage_corpus/agreement/second_hand.yaml) against their first labels, both ways; "
                             "with --misses every report the hands label differently")
    args = parser.parse_args(argv)
    if args.agreement:
        return main_agreement(args.agreement, args.misses)
    parts = ("development", "heldout") if args.part == "both" else (args.part,)
    for part in parts:
        path = PARTS.get(part, PARTS["development2"])
        if not path.exists():
            print(f"== {part}: {path.relative_to(REPO_ROOT)} is not there", file=sys.stderr)
            return 2
        if part in ("training", "validation"):
            items = split(part)
        elif part == "development" and args.part == "both":
            part = "development (" + " + ".join(PARTS[p].name for p in DEVELOPMENT_PARTS) + ")"
            items = [it for p in DEVELOPMENT_PARTS for it in load_part(PARTS[p])]
        else:
            items = load_part(path)
        figures = evaluate(items, part + (" (rules alone)" if args.rules_alone else ""),
                           model=None if args.rules_alone else domain.RULES_MODEL)
        print(report(figures, show_misses=args.misses or part == "heldout"))
        for first, last in args.ranges:
            chosen = [it for it in items if in_range(it["id"], first, last)]
            if chosen:   # scored from the one run above: the same results, counted for these ids
                print(report(recount(figures, chosen, f"{part} {first}-{last}"), show_misses=False))
    return 0


@dataclass(frozen=True)
class Labels:
    """One hand's labels of a report in the shape of triage's result, so that one labelling is counted
    against another exactly as triage is counted against the labels (`agreement`)."""
    categories: tuple
    urgency: str
    decisions: tuple


def labels_of(item: dict) -> Labels:
    expected = item["expected"]
    return Labels(tuple(expected["categories"]), expected["urgency"], tuple(expected["decisions"]))


def first_labels(parts: tuple = DEVELOPMENT_PARTS) -> dict[str, dict]:
    """The development files' reports by id: the first labels a second labelling is compared with (never
    the held-out part)."""
    return {it["id"]: it for part in parts for it in load_part(PARTS[part])}


def agreement(second: list[dict], first: dict[str, dict]) -> tuple[Figures, Figures]:
    """How two hands agree on the same reports: the second hand's labels counted with the first's as the
    reference, and the first's with the second's as the reference (the symmetric view: one's recall is the
    other's precision). `first` maps each id to the first hand's report; a report must be the same in both."""
    unknown = [it["id"] for it in second if it["id"] not in first]
    if unknown:
        raise ValueError(f"no first labels for {', '.join(unknown[:10])}"
                         + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""))
    changed = [it["id"] for it in second if it["text"].split() != first[it["id"]]["text"].split()]
    if changed:
        raise ValueError(f"not the same report in both labellings: {', '.join(changed[:10])}")
    pairs = [(first[it["id"]], it) for it in second]
    return (evaluate_results([(one, labels_of(two)) for one, two in pairs], "tweede hand t.o.v. de eerste"),
            evaluate_results([(two, labels_of(one)) for one, two in pairs], "eerste hand t.o.v. de tweede"))


def agreement_report(reference: Figures, swapped: Figures, second: list[dict], first: dict[str, dict],
                     show_differences: bool) -> str:
    """Both views as `report` prints triage's figures, with F1, the categories the hands differ on most and
    the urgencies side by side (first hand's in rows, second hand's in columns)."""
    lines = []
    for f in (reference, swapped):
        lines += [report(f, show_misses=False), f"F1 overall {f.f1():.3f}", ""]
    differ = sorted(set(reference.false_pos) | set(reference.false_neg),
                    key=lambda c: (-(reference.false_pos[c] + reference.false_neg[c]), c))
    lines.append("categorieën waar de handen verschillen (alleen de eerste / alleen de tweede):")
    lines += [f"  {c:22} {reference.false_neg[c] + reference.false_pos[c]:3d}  "
              f"({reference.false_neg[c]} / {reference.false_pos[c]})" for c in differ]
    table = Counter((first[it["id"]]["expected"]["urgency"], it["expected"]["urgency"]) for it in second)
    lines.append("urgentie, eerste hand (rij) tegen tweede (kolom):")
    lines.append(f"  {'':9}" + "".join(f"{u:>9}" for u in vocabulary.URGENCIES))
    lines += [f"  {u:9}" + "".join(f"{table[u, v]:9d}" for v in vocabulary.URGENCIES) for u in vocabulary.URGENCIES]
    if show_differences:
        lines.append(f"verschillen ({len(reference.misses)}; 'i.p.v.': de tweede hand i.p.v. de eerste):")
        for m in reference.misses:
            lines += [f"- {m.id}: {'; '.join(m.what)}", f"    \"{' '.join(m.text.split())}\""]
    return "\n".join(lines)


def main_agreement(path: Path, show_differences: bool) -> int:
    second = load_part(path)
    try:
        first = first_labels()
        reference, swapped = agreement(second, first)
    except (ValueError, FileNotFoundError) as exc:
        print(f"agreement: {exc}", file=sys.stderr)
        return 2
    print(f"== overeenstemming: {path.name} ({len(second)} meldingen) tegen de eerste labels "
          "in de development-bestanden")
    print(agreement_report(reference, swapped, second, first, show_differences))
    return 0


def id_ranges(text: str) -> tuple:
    """'H001-H153,H154-H303' -> (('H001', 'H153'), ('H154', 'H303')); a bad range exits with one line."""
    out = []
    for piece in text.split(","):
        first, sep, last = piece.strip().partition("-")
        if not sep or not _ID.fullmatch(first) or not _ID.fullmatch(last) or first[0] != last[0]:
            raise argparse.ArgumentTypeError(f"'{piece}' is not an id range like H001-H153")
        out.append((first, last))
    return tuple(out)


_ID = re.compile(r"[A-Z]\d+")


def in_range(report_id: str, first: str, last: str) -> bool:
    return report_id[0] == first[0] and int(first[1:]) <= int(report_id[1:]) <= int(last[1:])


def recount(figures: Figures, items: list[dict], part: str) -> Figures:
    """The figures of a subset of the reports already triaged in `figures` (no second triage run)."""
    return evaluate_results([(it, figures.results[it["id"]]) for it in items], part)


if __name__ == "__main__":
    sys.exit(main())
