"""Trains triage's second opinion (services/triage/model.py) on the development corpus and writes it
beside the rules: `make triage-model`. Needs scikit-learn (a test and build dependency; the hub reads
the written file without it). Deterministic: the same corpus gives the same file. The held-out part
is never read here.

    python -m services.triage.train_model [--out FILE] [--cross-hand | --choose-cross-hand | --choose-doubt-weak | --choose-keep-normaal | --learning-curve
        [--reports N] | --validate | --out-of-fold]

The settings below (C and the thresholds) are chosen by cross-hand validation (`--choose-cross-hand`: a model
trained without one development file, one hand, reads it, for every file), the measure that predicts the
held-out part (docs/triage.md); the shipped file is then trained with them on every development report
(MODEL_PARTS), because more reports measurably help (`--learning-curve`). Never on the held-out part.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

from shared import dutch_phrases as dp
from shared import vocabulary
from shared.config import REPO_ROOT

from services.triage import model as m
from services.triage.evaluation import DEVELOPMENT_PARTS, PARTS, incident_of
from services.triage.evaluation import split as _split

DEFAULT_OUT = REPO_ROOT / "deploy" / "rules" / "vr19-triage-model.json"
VERSION = "vr19-model-2026.7"
C = 3.0            # inverse regularisation strength (kept by cross-hand validation, `--choose-cross-hand`)
MIN_DF = 2         # a feature must occur in at least this many training reports
# Chosen by cross-hand validation over the thirteen hands (docs/triage.md, vr19-model-2026.7): add_category and
# add_beside_rules 0.5 / 0.6 for every category but a threat, which keeps the 0.4 / 0.5 of vr19-model-2026.2 (a missed
# threat weighs more; `--choose-cross-hand`); doubt_weak 0.2 (`--choose-doubt-weak`); keep_normaal 0.25 (nine hands,
# `--choose-keep-normaal`; 0.3 judged a hoog report below normaal on thirteen).
THRESHOLDS = {"add_category": 0.5, "add_beside_rules": 0.6, "add_category_for": {"bedreiging": 0.4},
              "add_beside_rules_for": {"bedreiging": 0.5}, "acute_hoog": 0.3, "acute_acuut": 0.7,
              "doubt_category": 0.1, "doubt_weak": 0.2, "keep_normaal": 0.25}
LABELS = tuple(c for c in vocabulary.CATEGORIES if c != "overig") + (m.ACUTE,)
# The development files the shipped model is made from, named here, not taken from evaluation.DEVELOPMENT_PARTS:
# a new development file is scored and is a fold of cross-hand validation (HAND_PARTS) from the day it lands, and
# joins the shipped model only at its next retraining (the model file names the files it was trained on and the
# corpus digest it records covers those, so a new file lands without changing the shipped model). To retrain with
# it: add it here, `make triage-model`, re-measure (`--cross-hand`, `--validate`) and update docs/triage.md and
# tests/unit/triage/test_corpus_evaluation.py's thresholds in the same commit. vr19-model-2026.7: all thirteen.
MODEL_PARTS = ("development", "development2", "development3", "development4", "development5", "development6",
               "development7", "development8", "development9", "development10", "development11", "development12",
               "development13")


def split(name: str) -> list[dict]:
    """The training or validation split of MODEL_PARTS."""
    return _split(name, MODEL_PARTS)


def corpus_digest(parts: tuple = MODEL_PARTS) -> str:
    """sha256 of the development files the model was trained from (the unit test compares it)."""
    digest = hashlib.sha256()
    for name in parts:
        digest.update(PARTS[name].read_bytes())
    return digest.hexdigest()


def _target(item: dict, label: str) -> bool:
    if label == m.ACUTE:
        return item["expected"]["urgency"] == "acuut"
    return label in item["expected"]["categories"]


def train(items: list[dict], c: float = C, thresholds: dict | None = None, balanced: bool = True) -> dict:
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    counts = [m.features(dp.analyse(it["text"]), incident_of(it)) for it in items]
    df: dict[str, int] = {}
    for row in counts:
        for f in row:
            df[f] = df.get(f, 0) + 1
    features = sorted(f for f, n in df.items() if n >= MIN_DF)
    vocabulary = {f: i for i, f in enumerate(features)}
    n = len(items)
    idf = [math.log((1 + n) / (1 + df[f])) + 1.0 for f in features]
    data, cols, ptr = [], [], [0]
    for row in counts:
        vec = m.vectorise(row, vocabulary, idf)
        for col in sorted(vec):
            cols.append(col)
            data.append(vec[col])
        ptr.append(len(cols))
    x = csr_matrix((np.array(data), np.array(cols), np.array(ptr)), shape=(n, len(features)))
    coef, intercept = [], []
    for label in LABELS:
        y = np.array([_target(it, label) for it in items])
        if y.all() or not y.any():   # no report (or every one) has the label: a model of a few files only
            coef.append({})
            intercept.append(10.0 if y.all() else -10.0)
            continue
        fit = LogisticRegression(C=c, max_iter=5000, class_weight="balanced" if balanced else None).fit(x, y)
        weights = fit.coef_[0]
        # weights below 1e-4 change no probability in the third decimal; leaving them out keeps the file small
        coef.append({str(i): round(float(w), 4) for i, w in enumerate(weights) if abs(w) >= 1e-4})
        intercept.append(round(float(fit.intercept_[0]), 4))
    return {
        "format": m.FORMAT, "version": VERSION,
        "about": "Triage's second opinion (docs/triage.md): logistic regression per label on lemma TF-IDF. "
                 "Written by services/triage/train_model.py; do not edit by hand.",
        "trained_on": {"reports": n, "parts": list(MODEL_PARTS), "corpus_sha256": corpus_digest(), "C": c,
                       "min_df": MIN_DF},
        "thresholds": dict(thresholds or THRESHOLDS),
        "labels": list(LABELS), "features": features, "idf": [round(x, 6) for x in idf],
        "coef": coef, "intercept": intercept,
    }


def write(raw: dict, out: Path) -> None:
    out.write_text(json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n",
                   encoding="utf-8")


def development() -> list[dict]:
    """Every development report: what the shipped model is trained on."""
    return split("training") + split("validation")


def validate(rules_alone: bool = True):
    """The validation split's figures with a model of these settings trained on the training split only
    (the honest measure; the shipped model has seen the validation split), and first, if asked, by
    the rules alone."""
    from services.triage.evaluation import evaluate

    model = m.parse_model(train(split("training")), "trained on the training split")
    validation = split("validation")
    alone = [evaluate(validation, "validation", model=None)] if rules_alone else []
    return alone + [evaluate(validation, "validation", model=model)]


FOLDS = 3


def out_of_fold(rules=None):
    """The training split read as unseen: a model of the shipped settings trained on two thirds of it reads the
    third it did not see (every FOLDS-th report in file order), FOLDS times. How rule changes are chosen
    without the validation split; returns the figures and, per category, how often the model's additions
    were right and wrong (reasons starting 'Lijkt op meldingen van het type')."""
    from collections import Counter

    from services.triage import domain
    from services.triage.evaluation import evaluate_results

    items = split("training")
    results = []
    for fold in range(FOLDS):
        model = m.parse_model(train([it for i, it in enumerate(items) if i % FOLDS != fold]), f"fold {fold}")
        results += [(it, domain.triage(incident_of(it), rules, it["text"], model))
                    for i, it in enumerate(items) if i % FOLDS == fold]
    right, wrong = Counter(), Counter()
    for it, got in results:
        for reason in got.reasons:
            if reason.startswith("Lijkt op meldingen van het type "):
                code = reason.split()[6]
                (right if code in it["expected"]["categories"] else wrong)[code] += 1
    return evaluate_results(results, "training, out of fold"), right, wrong


# Cross-hand validation (docs/triage.md): each development file was written by another hand (D, E, F, G, and
# K, L, M, N, P, Q, R, S, T, U, V, W, X written from the labelling guide alone), so a model trained on the others and scored on
# one reads wordings it never saw, as on the held-out part.
HAND_PARTS = DEVELOPMENT_PARTS


def cross_hand(rules=None, parts: tuple = HAND_PARTS, trainer=None, rules_alone: bool = False):
    """Leave one file (one hand) out: for each file a model of the shipped settings (`trainer(items)` -> raw
    model, default `train`) trained on the other files reads it. Returns ([(file, figures)], pooled figures);
    `rules_alone`: the rules without a model, per file, for comparison. The rules themselves were written
    reading all four files, so their share of the figures is optimistic; the model's share is measured
    honestly."""
    from services.triage import domain
    from services.triage.evaluation import evaluate_results, load_part

    rules = rules or _default_rules()
    trainer = trainer or train
    files = {name: load_part(PARTS[name]) for name in parts}
    folds, pooled = [], []
    for held in parts:
        model = None
        if not rules_alone:
            model = m.parse_model(trainer([it for name in parts if name != held for it in files[name]]),
                                  f"trained without {held}")
        results = [(it, domain.triage(incident_of(it), rules, it["text"], model)) for it in files[held]]
        folds.append((held, evaluate_results(results, f"{held} (model without it)" if model else f"{held} (rules alone)")))
        pooled += results
    return folds, evaluate_results(pooled, "cross-hand, pooled")


def _default_rules():
    from shared.triage_rules import default_rules
    return default_rules()


def learning_curve(rules=None, parts: tuple = HAND_PARTS, most: int = 3, reports: int | None = None,
                   trainer=None) -> list[tuple]:
    """Does a model trained on more hands read an unseen hand better? For each file (hand) of `parts`, models
    of the shipped settings trained on 1, 2, … of the other files read it: every combination of the other
    files, or `most` of them drawn by a fixed seed where there are more (each file the same number of times
    for each count, so the pooled figures weigh every report alike). `reports`: train on this many reports
    drawn evenly from the chosen files instead of all of theirs (combinations that hold fewer are skipped),
    which tells more hands from more reports. Returns rows (hands, held file, trained-on files, training
    reports, figures); hands 0 is the rules alone."""
    import itertools
    import random

    from services.triage import domain
    from services.triage.evaluation import evaluate_results, load_part

    rules = rules or _default_rules()
    trainer = trainer or train
    files = {name: load_part(PARTS[name]) for name in parts}
    rows = []
    for held in parts:
        incidents = _read(files[held], rules)
        alone = [(it, domain.triage(incident, rules, it["text"], None, reading)) for it, incident, reading in incidents]
        rows.append((0, held, (), 0, evaluate_results(alone, f"{held}, rules alone")))
        others = [name for name in parts if name != held]
        for k in range(1, len(others) + 1):
            combos = list(itertools.combinations(others, k))
            if reports:
                combos = [c for c in combos if sum(len(files[name]) for name in c) >= reports]
            if len(combos) > most:
                combos = random.Random(f"{held}/{k}").sample(combos, most)
            for combo in combos:
                items = _drawn(files, combo, reports, f"{held}/{combo}") if reports else \
                    [it for name in combo for it in files[name]]
                model = m.parse_model(trainer(items), f"trained on {'+'.join(combo)}")
                results = [(it, domain.triage(incident, rules, it["text"], model, reading))
                           for it, incident, reading in incidents]
                rows.append((k, held, combo, len(items), evaluate_results(results, f"{held} by {'+'.join(combo)}")))
    return rows


def _read(items: list[dict], rules) -> list[tuple]:
    """(report, its incident, the rules' reading of it): read once, then tried with many models."""
    from shared.triage_rules import read_categories

    out = []
    for it in items:
        incident = incident_of(it)
        out.append((it, incident, read_categories(incident, it["text"], rules)))
    return out


def _drawn(files: dict, combo: tuple, reports: int, seed: str) -> list[dict]:
    """`reports` reports drawn evenly from the files of `combo` (in turn, each file in its own shuffled
    order, a file that runs out leaves the rest to the others)."""
    import random

    queues = []
    for name in combo:
        items = list(files[name])
        random.Random(f"{seed}/{name}").shuffle(items)
        queues.append(items)
    out = []
    while len(out) < reports:
        for queue in queues:
            if queue and len(out) < reports:
                out.append(queue.pop())
    return out


def learning_curve_report(rows: list[tuple]) -> str:
    """Per number of training hands, the figures pooled over every held file and combination."""
    from services.triage.evaluation import Figures

    lines = [f"{'hands':>5} {'models':>6} {'reports':>7} {'recall':>7} {'precisie':>8} {'F1':>6} "
             f"{'bedreiging':>10} {'intimidatie':>11} {'acuut<hoog':>10} {'hoog<normaal':>12} {'doorverwijzing':>14}"]
    for k in sorted({row[0] for row in rows}):
        chosen = [row for row in rows if row[0] == k]
        pooled = Figures(f"{k} hands")
        for *_, f in chosen:
            for name in ("true_pos", "false_pos", "false_neg", "urgency_too_low"):
                getattr(pooled, name).update(getattr(f, name))
            pooled.referral_due += f.referral_due
            pooled.referral_proposed += f.referral_proposed
        r, p = pooled.recall(), pooled.precision()
        lines.append(f"{k:5d} {len(chosen):6d} {sum(row[3] for row in chosen) / len(chosen):7.0f} {r:7.3f} {p:8.3f} "
                     f"{2 * r * p / (r + p):6.3f} {pooled.recall('bedreiging'):10.3f} "
                     f"{pooled.recall('intimidatie'):11.3f} {pooled.urgency_too_low['acuut']:10d} "
                     f"{pooled.urgency_too_low['hoog']:12d} {pooled.referral_rate * 100:13.1f}%")
    lines.append("per file (recall / precisie / F1 by hands 0, 1, …):")
    for held in dict.fromkeys(row[1] for row in rows):
        cells = []
        for k in sorted({row[0] for row in rows if row[1] == held}):
            tp = fp = fn = 0
            for row in rows:
                if row[1] == held and row[0] == k:
                    tp, fp = tp + sum(row[4].true_pos.values()), fp + sum(row[4].false_pos.values())
                    fn += sum(row[4].false_neg.values())
            r, p = tp / (tp + fn), tp / (tp + fp)
            cells.append(f"{k}: {r:.3f} / {p:.3f} / {2 * r * p / (r + p):.3f}")
        lines.append(f"  {held:13} " + "   ".join(cells))
    return "\n".join(lines)


def cross_hand_report(folds, pooled) -> str:
    """One line per file and the pooled figures in full (per category, urgency, decisions, referral)."""
    from services.triage.evaluation import report
    lines = []
    for name, f in folds:
        lines.append(f"{name:13} {f.reports:4d} meldingen: recall {f.recall():.3f} precisie {f.precision():.3f}  "
                     f"acuut onder hoog {f.urgency_too_low['acuut']}  hoog onder normaal {f.urgency_too_low['hoog']}  "
                     f"doorverwijzing {f.referral_proposed}/{f.referral_due}  zonder toestemming "
                     f"{f.referral_without_consent}")
    return "\n".join(lines + [report(pooled, show_misses=False)])


# The grid `--choose-cross-hand` chooses the shipped settings from (docs/triage.md).
ALONE_GRID = (0.35, 0.4, 0.45, 0.5)
BESIDE_GRID = (0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75)
C_GRID = (1.0, 3.0, 10.0)
# The grid `--choose-keep-normaal` chooses keep_normaal from (None: a report nothing was found in may be 'laag').
KEEP_GRID = (None, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
# The grid `--choose-doubt-weak` chooses doubt_weak from (None: the rules' finds in one place are never doubted).
DOUBT_GRID = (None, 0.15, 0.2, 0.25, 0.3)


def threshold_settings(alone_grid: tuple = ALONE_GRID, beside_grid: tuple = BESIDE_GRID) -> list[dict]:
    """Every `add_category` of `alone_grid` with every `add_beside_rules` of `beside_grid`."""
    return [{"add_category": a, "add_beside_rules": b} for a in alone_grid for b in beside_grid]


def cross_hand_grid(rules=None, parts: tuple = HAND_PARTS, cs: tuple = C_GRID,
                    settings: list[dict] | None = None) -> list[tuple]:
    """Cross-hand figures of every setting: for each C a model trained without each file reads it with each
    of `settings` (threshold overrides, default `threshold_settings()`), as triage reads it (urgency and
    decisions included). Rows (C, settings, pooled figures). How the shipped settings are chosen
    (`--choose-cross-hand`); never on the held-out part."""
    from services.triage import domain
    from services.triage.evaluation import evaluate_results, load_part

    rules = rules or _default_rules()
    settings = settings or threshold_settings()
    files = {name: _read(load_part(PARTS[name]), rules) for name in parts}
    rows = []
    for c in cs:
        pooled = [[] for _ in settings]
        for held in parts:
            raw = train([it for name in parts if name != held for it, *_ in files[name]], c)
            for setting, results in zip(settings, pooled):
                thresholds = {k: v for k, v in {**THRESHOLDS, **setting}.items() if v is not None}
                model = m.parse_model({**raw, "thresholds": thresholds}, f"C={c} without {held}")
                results += [(it, domain.triage(incident, rules, it["text"], model, reading))
                            for it, incident, reading in files[held]]
        rows += [(c, setting, evaluate_results(results, f"C={c} {setting}")) for setting, results in zip(settings, pooled)]
    return rows


def best_cross_hand(rows: list[tuple], base: tuple = (C, THRESHOLDS)):
    """The priorities of issue 17 in order: no more acute reports judged below hoog nor hoog below normaal than
    the `base` setting, no lower bedreiging recall, referral ≥ 95 % and none without consent; then the
    highest F1. Returns the chosen row and the base row."""
    base_row = next(row for row in rows if row[0] == base[0] and _same(row[1], base[1]))
    bf = base_row[2]
    kept = [row for row in rows
            if row[2].urgency_too_low["acuut"] <= bf.urgency_too_low["acuut"]
            and row[2].urgency_too_low["hoog"] <= bf.urgency_too_low["hoog"]
            and row[2].recall("bedreiging") >= bf.recall("bedreiging")
            and row[2].referral_rate >= 0.95 and row[2].referral_without_consent == 0]
    return max(kept, key=lambda row: (round(_f1(row[2]), 4), row[2].precision())), base_row


def best_keep_normaal(rows: list[tuple]):
    """keep_normaal only moves urgency (categories, F1 and referral stay): the fewest reports judged too low
    (acute below hoog, then hoog below normaal), then the most judged exactly (the fewest raised for nothing)."""
    return min(rows, key=lambda row: (row[2].urgency_too_low["acuut"], row[2].urgency_too_low["hoog"],
                                      -row[2].urgency_exact))


def best_doubt_weak(rows: list[tuple]):
    """Of the settings with no more reports too low than without doubt_weak and referral >= 95 %, those within 0.002
    F1 of the best (the noise of a setting's F1 between neighbouring thresholds), and of those the highest recall: the
    least given up for the same F1."""
    base = next(row for row in rows if row[1]["doubt_weak"] is None)[2]
    kept = [row for row in rows if row[2].urgency_too_low["acuut"] <= base.urgency_too_low["acuut"]
            and row[2].urgency_too_low["hoog"] <= base.urgency_too_low["hoog"] and row[2].referral_rate >= 0.95]
    best = max(_f1(row[2]) for row in kept)
    return max((row for row in kept if _f1(row[2]) >= best - 0.002), key=lambda row: row[2].recall())


def keep_line(row: tuple, name: str = "keep_normaal") -> str:
    c, setting, f = row
    return (f"{name} {setting[name]}: recall {f.recall():.3f} precisie {f.precision():.3f} "
            f"F1 {_f1(f):.4f}  acuut<hoog {f.urgency_too_low['acuut']} hoog<normaal {f.urgency_too_low['hoog']}  "
            f"urgentie exact {f.urgency_exact} hoger {f.urgency_above}  doorverwijzing "
            f"{f.referral_proposed}/{f.referral_due}")


def _same(setting: dict, thresholds: dict) -> bool:
    return all(thresholds.get(k) == v for k, v in setting.items())


def _f1(f) -> float:
    r, p = f.recall(), f.precision()
    return 2 * r * p / (r + p)


def grid_line(row: tuple) -> str:
    c, setting, f = row
    return (f"C={c:<4} add {setting['add_category']:.2f} beside {setting['add_beside_rules']:.2f}: recall "
            f"{f.recall():.3f} precisie {f.precision():.3f} F1 {_f1(f):.3f}  bedreiging {f.recall('bedreiging'):.3f}/"
            f"{f.precision('bedreiging'):.3f} intimidatie {f.recall('intimidatie'):.3f}/{f.precision('intimidatie'):.3f}"
            f"  acuut<hoog {f.urgency_too_low['acuut']} hoog<normaal {f.urgency_too_low['hoog']}  doorverwijzing "
            f"{f.referral_proposed}/{f.referral_due}")


def _hands(text: str) -> tuple:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in DEVELOPMENT_PARTS]
    if unknown or len(names) < 2:
        raise argparse.ArgumentTypeError(f"not two or more development files: {text}")
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="triage-model", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--out-of-fold", action="store_true",
                        help="print the training split's figures read out of fold, and the model's additions right and wrong")
    parser.add_argument("--validate", action="store_true",
                        help="print the validation split's figures, rules alone and with a model trained without it")
    parser.add_argument("--cross-hand", action="store_true",
                        help="leave one development file (one hand) out: train on the others, score it; per file "
                             "and pooled, beside the rules alone")
    parser.add_argument("--learning-curve", action="store_true",
                        help="for each development file, models trained on 1, 2, … of the other files read it: "
                             "figures pooled per number of training files")
    parser.add_argument("--reports", type=int, default=None,
                        help="with --learning-curve: train on this many reports drawn evenly from the files")
    parser.add_argument("--choose-cross-hand", action="store_true",
                        help="C, add_category and add_beside_rules chosen by cross-hand figures over a grid; "
                             "prints the grid and the choice (copy it into C and THRESHOLDS)")
    parser.add_argument("--choose-doubt-weak", action="store_true",
                        help="doubt_weak chosen by cross-hand figures over DOUBT_GRID (the other settings as shipped)")
    parser.add_argument("--choose-keep-normaal", action="store_true",
                        help="keep_normaal chosen by cross-hand figures over KEEP_GRID (the other settings as shipped)")
    parser.add_argument("--hands", type=_hands, default=HAND_PARTS,
                        help="with --cross-hand, --choose-cross-hand, --learning-curve: these development files "
                             "only, e.g. development,development2,development3,development4")
    args = parser.parse_args(argv)
    if args.choose_cross_hand:
        rows = cross_hand_grid(parts=args.hands)
        for row in rows:
            print(grid_line(row))
        chosen, base = best_cross_hand(rows)
        print("now:    " + grid_line(base))
        print("chosen: " + grid_line(chosen))
        return 0
    if args.choose_doubt_weak:
        rows = cross_hand_grid(parts=args.hands, cs=(C,), settings=[{"doubt_weak": d} for d in DOUBT_GRID])
        for row in rows:
            print(keep_line(row, "doubt_weak"))
        chosen = best_doubt_weak(rows)
        print(f"chosen: doubt_weak {chosen[1]['doubt_weak']}")
        return 0
    if args.choose_keep_normaal:
        rows = cross_hand_grid(parts=args.hands, cs=(C,), settings=[{"keep_normaal": k} for k in KEEP_GRID])
        for row in rows:
            print(keep_line(row))
        print("chosen: " + keep_line(best_keep_normaal(rows)))
        return 0
    if args.learning_curve:
        print(learning_curve_report(learning_curve(parts=args.hands, reports=args.reports)))
        return 0
    if args.cross_hand:
        for rules_alone in (True, False):
            print("-- " + ("rules alone" if rules_alone else "rules and second opinion, trained without the file"))
            print(cross_hand_report(*cross_hand(parts=args.hands, rules_alone=rules_alone)))
        return 0
    if args.out_of_fold:
        from services.triage.evaluation import report
        figures, right, wrong = out_of_fold()
        print(report(figures, show_misses=False))
        print("tweede mening voegde toe (goed / fout): " + ", ".join(
            f"{c} {right[c]} / {wrong[c]}" for c in sorted(set(right) | set(wrong))))
        return 0
    if args.validate:
        from services.triage.evaluation import report
        for label, figures in zip(("rules alone", "rules and second opinion"), validate()):
            print(f"-- {label}")
            print(report(figures, show_misses=False))
        return 0
    raw = train(development())
    write(raw, args.out)
    print(f"{args.out}: {raw['trained_on']['reports']} reports, {len(raw['features'])} features, "
          f"{sum(len(c) for c in raw['coef'])} weights")
    return 0


if __name__ == "__main__":
    sys.exit(main())
