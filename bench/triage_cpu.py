"""CPU per report of reading a report by the triage rules, without broker or database: every development report
(tests/triage_corpus/development*.yaml, never the held-out part) through the code the services run, stage by stage.

    .venv/bin/python bench/triage_cpu.py                       # ms of CPU per report, median of 3 passes
    .venv/bin/python bench/triage_cpu.py --profile triage      # cProfile of one stage, busiest functions
    .venv/bin/python bench/triage_cpu.py --dump out.jsonl      # everything a reading gives, to diff across a change

Stages: `analyse` (dutch_phrases: normalising, lemmas, scope cues), `acute floor` (intake's acute check on every
report it accepts, its own analysis included), `rules` (triage's decision by the rules alone), `model` (the second
opinion on a report already analysed: features and scores), `triage` (triage's whole decision, as its handler calls
it). One pass first that is not counted: a service's per-process caches (lemmas) are warm after its first reports.
`--dump` writes per report and per variant of its circumstances (as written, nothing ticked, at a home with other
ticks) the triage result, the rules-only result, the acute reason, the second opinion and every pattern's hits.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.triage import domain  # noqa: E402
from services.triage.evaluation import DEVELOPMENT_PARTS, PARTS, incident_of, load_part  # noqa: E402
from shared import dutch_phrases as dp  # noqa: E402
from shared import triage_rules as tr  # noqa: E402

# the report of bench/hub_bench.py, which every incident of `make bench` carries
BENCH_TEXT = "Bezoeker dreigde aan de balie de medewerker thuis op te zoeken."
VARIANTS = {"as written": {}, "nothing ticked": {"reported_categories": []},
            "at home, other ticks": {"location_type": "woning", "reported_categories": ["vernieling", "overig"]}}


def reports() -> list[tuple[str, dict, str]]:
    """(id, incident payload, text) of every development report."""
    return [(item["id"], incident_of(item), item["text"]) for part in DEVELOPMENT_PARTS
            for item in load_part(PARTS[part])]


def stages(rules, model) -> dict:
    """Stage name -> a function of (incident, text, analysis made beforehand)."""
    return {
        "analyse": lambda incident, text, analysis: dp.analyse(text),
        "acute floor": lambda incident, text, analysis: tr.acute_reason(incident, text, rules),
        "rules": lambda incident, text, analysis: domain.triage(incident, rules, text, model=None),
        "model": lambda incident, text, analysis: model.opinions(analysis, incident) if analysis.tokens else None,
        "triage": lambda incident, text, analysis: domain.triage(incident, rules, text, model),
    }


def measure(items, rules, model, repeat: int) -> dict[str, list[float]]:
    """Stage -> ms of CPU per report in each pass (the passes alternate the stages, so a slower moment of the
    machine falls on all of them)."""
    todo = stages(rules, model)
    analyses = [dp.analyse(text) for _, _, text in items]   # the model's input, made outside its timing
    for fn in todo.values():   # warm: lemmas, compiled cues, the rules' anchors
        for (_, incident, text), analysis in zip(items, analyses):
            fn(incident, text, analysis)
    out: dict[str, list[float]] = {name: [] for name in todo}
    for _ in range(repeat):
        for name, fn in todo.items():
            started = time.process_time()
            for (_, incident, text), analysis in zip(items, analyses):
                fn(incident, text, analysis)
            out[name].append((time.process_time() - started) * 1000 / len(items))
    return out


def dump(items, rules, model, path: Path) -> None:
    """One JSON line per report and variant: everything the reading gives, to compare before and after a change."""
    with path.open("w", encoding="utf-8") as f:
        for report_id, incident, text in items:
            analysis = dp.analyse(text)
            hits = {source: [[list(h.positions), h.words, h.scope] for h in pattern.hits(analysis)]
                    for source, pattern in sorted(rules.patterns.items())}
            opinions = model.opinions(analysis, incident) if analysis.tokens else {}
            f.write(json.dumps({
                "id": report_id,
                "tokens": [[t.surface, t.lemma, t.sentence, t.clause, t.start, t.end] for t in analysis.tokens],
                "calls_harmless": analysis.calls_harmless, "doubts_ticks": analysis.doubts_ticks,
                "hits": {k: v for k, v in hits.items() if v},
                "opinions": {k: [repr(o.probability), list(o.words)] for k, o in sorted(opinions.items())},
            }, ensure_ascii=False) + "\n")
            for variant, changes in VARIANTS.items():
                changed = {**incident, **changes}
                reading = tr.read_categories(changed, text, rules)
                f.write(json.dumps({
                    "id": report_id, "variant": variant,
                    "acute": tr.acute_reason(changed, text, rules),
                    "reading": [sorted(reading.categories), reading.reasons, sorted(reading.ruled_out)],
                    "rules": vars(domain.triage(changed, rules, text, model=None)),
                    "triage": vars(domain.triage(changed, rules, text, model)),
                }, ensure_ascii=False, default=str) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes measured (the median is shown)")
    parser.add_argument("--profile", metavar="STAGE", help="cProfile one stage over every report instead")
    parser.add_argument("--dump", metavar="PATH", type=Path, help="write every reading's output instead")
    parser.add_argument("--limit", type=int, default=0, help="only the first N reports")
    args = parser.parse_args(argv)

    started = time.process_time()
    rules = tr.default_rules()
    model = domain.model_of(rules)
    dp.warm_up()
    items = reports()
    if args.limit:
        items = items[:args.limit]
    print(f"{len(items)} development reports; rules {rules.version}, model {model.version}; "
          f"loading {time.process_time() - started:.1f} s CPU", file=sys.stderr)

    if args.dump:
        dump(items, rules, model, args.dump)
        print(f"written {args.dump}", file=sys.stderr)
        return 0
    if args.profile:
        fn = stages(rules, model)[args.profile]
        analyses = [dp.analyse(text) for _, _, text in items]
        for (_, incident, text), analysis in zip(items, analyses):
            fn(incident, text, analysis)   # warm, as measured
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for (_, incident, text), analysis in zip(items, analyses):
            fn(incident, text, analysis)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return 0

    figures = measure(items, rules, model, args.repeat)
    bench = measure([("bench", {**incident_of({"location_type": "balie", "target_role": "ambtenaar",
                                                "reported_categories": ["bedreiging"]}),
                                "consent": {**incident_of({"location_type": "balie", "target_role": "ambtenaar"})["consent"],
                                            "contact": True, "police_referral": True}},
                      BENCH_TEXT)] * 200, rules, model, args.repeat)
    print(f"{'ms of CPU per report':<22} {'development (median)':>20} {'passes':>24} {'bench report':>13}")
    for name, values in figures.items():
        print(f"{name:<22} {statistics.median(values):>20.3f} {' '.join(f'{v:.3f}' for v in values):>24} "
              f"{statistics.median(bench[name]):>13.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
