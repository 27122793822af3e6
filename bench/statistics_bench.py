"""Statistics at regional scale: 1,000,000 incident facts in 25 municipalities, written straight into a
throwaway statistics database with COPY, the daily and monthly counts built from them, and the
dashboard's queries timed over many runs (p50/p95 per period kind). One printed line per figure.

Usage: python bench/statistics_bench.py [--incidents N] [--runs N]   (make bench runs it via run.py)
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from services.statistics import figures, store  # noqa: E402
from shared import vocabulary  # noqa: E402
from shared.db.migrate import STATISTICS_COMPONENTS, apply, ensure_database  # noqa: E402
from shared.db.unit_of_work import UnitOfWork  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from hub_bench import PG  # noqa: E402 — the same server and transport as the rest of the run
MUNICIPALITIES = [f"GM9{n:03d}" for n in range(1, 26)]
FIRST_DAY, DAYS = date(2024, 1, 1), 3 * 365  # three years of reports
COLUMNS = ["municipality", "case_ref", "reported_on", "channel", "location_type", "target_role",
           "reported_categories", "triaged_on", "categories", "urgency", "referred", "aangifte", "referral_outcome",
           "referral_escalated", "triage_overdue", "aftercare_planned", "first_contact_on",
           "first_contact_hours_after_due", "first_contact_days", "aftercare_overdue", "aftercare_closed_reason",
           "repeat_perpetrator", "repeat_elsewhere"]


def _rows(n: int, rng: random.Random):
    # bigger municipalities report more: sizes 1..25 as weights
    weights = list(range(1, len(MUNICIPALITIES) + 1))
    for _ in range(n):
        reported = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        categories = "{" + ",".join(sorted(set(rng.choices(vocabulary.CATEGORIES, k=rng.choice((1, 1, 2)))))) + "}"
        referred = rng.random() < 0.35
        aangifte = referred and rng.random() < 0.5
        planned = rng.random() < 0.7
        contacted = planned and rng.random() < 0.85
        yield [rng.choices(MUNICIPALITIES, weights)[0], "\\x" + os.urandom(32).hex(), reported,
               rng.choice(vocabulary.CHANNELS), rng.choice(vocabulary.LOCATION_TYPES), rng.choice(vocabulary.TARGET_ROLES), categories,
               reported, categories, rng.choice(vocabulary.URGENCIES), referred, aangifte,
               rng.choice(vocabulary.REFERRAL_OUTCOMES) if aangifte and rng.random() < 0.4 else "",
               referred and rng.random() < 0.05, rng.random() < 0.03, planned,
               reported + timedelta(days=1) if contacted else "",
               rng.randint(-20, 30) if contacted else "", rng.choice((0, 0, 1, 1, 2, 3, 5, 8)) if contacted else "",
               int(planned and rng.random() < 0.1),
               rng.choice(vocabulary.CLOSE_REASONS) if planned and rng.random() < 0.5 else "",
               (repeat := rng.random() < 0.1), repeat and rng.random() < 0.3]


def load(conn, n: int, seed: int = 7) -> float:
    """COPY n facts into statistics.incident_facts in chunks; seconds taken."""
    rng = random.Random(seed)
    started = time.perf_counter()
    rows = _rows(n, rng)
    chunk = 100_000
    with conn.cursor() as cur:
        for _ in range(0, n, chunk):
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for _, row in zip(range(chunk), rows):
                writer.writerow(row)
            buffer.seek(0)
            cur.copy_expert(f"COPY statistics.incident_facts ({', '.join(COLUMNS)}) FROM STDIN "
                            "WITH (FORMAT csv, NULL '')", buffer)
    conn.commit()
    return time.perf_counter() - started


def _quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def run(incidents: int = 1_000_000, runs: int = 100, report=None) -> dict:
    report = report or (lambda name, value, unit="": print(f"{name:<45} {value:>10.1f} {unit}".rstrip(), flush=True))
    name = f"mh_bench_stats_{uuid.uuid4().hex[:8]}"
    dsn = f"{PG}/{name}"
    ensure_database(dsn)
    out = {}
    try:
        apply(dsn, STATISTICS_COMPONENTS)
        conn = psycopg2.connect(dsn)
        uow = UnitOfWork(conn, "bench", None)
        out["statistics_copy_facts_per_s"] = incidents / load(conn, incidents)
        started = time.perf_counter()
        store.refresh_all(uow)
        conn.commit()
        out["statistics_rollup_build_s"] = time.perf_counter() - started
        conn.autocommit = True  # VACUUM runs outside a transaction
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE statistics.daily_counts")
            cur.execute("VACUUM ANALYZE statistics.monthly_counts")
            cur.execute("VACUUM ANALYZE statistics.incident_facts")
        conn.autocommit = False
        for key, value in out.items():
            report(key, value, "/s" if key.endswith("per_s") else "s")

        rng = random.Random(11)
        for kind in figures.PERIOD_KINDS:
            sql_ms, page_ms = [], []
            for _ in range(runs):
                period = figures.period_containing(kind, FIRST_DAY + timedelta(days=rng.randrange(365, DAYS)))
                previous = period.previous()
                viewer = rng.choice(MUNICIPALITIES + [None])
                t0 = time.perf_counter()
                now = store.counts(uow, period.first, period.last, period.monthly)
                before = store.counts(uow, previous.first, previous.last, previous.monthly)
                years = store.monthly_incidents(uow, figures.years_needed(period, previous))
                conn.rollback()
                t1 = time.perf_counter()
                figures.figures(figures.Counts(now), figures.Counts(before), MUNICIPALITIES, viewer,
                                figures.REGION, 5, period, years)
                t2 = time.perf_counter()
                sql_ms.append((t1 - t0) * 1000)
                page_ms.append((t2 - t0) * 1000)
            for label, values in (("queries", sql_ms), ("figures", page_ms)):
                for q in (0.5, 0.95):
                    key = f"statistics_{kind}_{label}_p{round(q * 100)}_ms"
                    out[key] = _quantile(values, q)
                    report(key, out[key], "ms")

        # what one folded event adds: recomputing its municipality's day and month
        refresh_ms = []
        for _ in range(runs):
            t0 = time.perf_counter()
            store.refresh_day(uow, rng.choice(MUNICIPALITIES), FIRST_DAY + timedelta(days=rng.randrange(DAYS)))
            conn.commit()
            refresh_ms.append((time.perf_counter() - t0) * 1000)
        for q in (0.5, 0.95):
            key = f"statistics_refresh_day_p{round(q * 100)}_ms"
            out[key] = _quantile(refresh_ms, q)
            report(key, out[key], "ms")
        conn.close()
    finally:
        admin = psycopg2.connect(f"{PG}/postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    run(args.incidents, args.runs)


if __name__ == "__main__":
    main()
