"""shared/db/online.py: which migrations can be applied while the hub runs (expand/contract conventions), and
the rule that every migration after the last release is one of them."""
from __future__ import annotations

import pytest

from shared.db import online
from shared.db.migrate import CASE_STORE_COMPONENTS, STATISTICS_COMPONENTS, WORKBENCH_COMPONENTS, migrations_of

SAFE = {
    "a new table and its index": "CREATE TABLE intake.labels (id bigserial PRIMARY KEY, case_id uuid NOT NULL);\n"
                                 "CREATE INDEX labels_case ON intake.labels (case_id);",
    "a nullable column and one with a constant default": "ALTER TABLE intake.incidents ADD COLUMN label text, "
                                                         "ADD COLUMN priority smallint NOT NULL DEFAULT 0;",
    "an index built concurrently": "-- its own file\nCREATE INDEX CONCURRENTLY IF NOT EXISTS incidents_label "
                                   "ON intake.incidents (label);",
    "a constraint NOT VALID, validated after": "ALTER TABLE intake.incidents ADD CONSTRAINT label_short "
                                               "CHECK (length(label) < 80) NOT VALID;\n"
                                               "ALTER TABLE intake.incidents VALIDATE CONSTRAINT label_short;",
    "a function with semicolons in its body": "CREATE FUNCTION hub.f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                              "BEGIN UPDATE hub.x SET a = 1; RETURN NEW; END; $$;",
    "a drop marked as the contract step": "-- contract: v0.2.0 reads label_v2; nothing reads label since v0.2.0\n"
                                          "ALTER TABLE intake.incidents DROP COLUMN label;",
    "its own shorter lock_timeout": "SET LOCAL lock_timeout = '2s';\nALTER TABLE intake.incidents ADD COLUMN x int;",
}

UNSAFE = {
    "CREATE INDEX on existing table incidents without CONCURRENTLY":
        "CREATE INDEX incidents_label ON intake.incidents (label);",
    "without IF NOT EXISTS": "CREATE INDEX CONCURRENTLY incidents_label ON intake.incidents (label);",
    "may hold only CREATE/DROP INDEX CONCURRENTLY":
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON intake.incidents (a);\nALTER TABLE intake.incidents ADD COLUMN b int;",
    "ALTER COLUMN … TYPE on incidents": "ALTER TABLE intake.incidents ALTER COLUMN status TYPE varchar(40);",
    "SET NOT NULL on incidents": "ALTER TABLE intake.incidents ALTER COLUMN label SET NOT NULL;",
    "ADD COLUMN NOT NULL without a default": "ALTER TABLE intake.incidents ADD COLUMN label text NOT NULL;",
    "volatile default": "ALTER TABLE intake.incidents ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now();",
    "ADD COLUMN with a constraint": "ALTER TABLE intake.incidents ADD COLUMN code text UNIQUE;",
    "without NOT VALID": "ALTER TABLE aftercare.care_plans ADD CONSTRAINT s CHECK (status IN ('open'));",
    "builds an index under the lock": "ALTER TABLE aftercare.contact_moments ADD CONSTRAINT once UNIQUE (plan_id, kind);",
    "UPDATE of incidents in the migration": "UPDATE intake.incidents SET label = 'x' WHERE label IS NULL;",
    "DROP COLUMN on incidents: a contract step": "ALTER TABLE intake.incidents DROP COLUMN label;",
    "RENAME COLUMN on incidents": "ALTER TABLE intake.incidents RENAME COLUMN label TO tag;",
    "DROP TABLE labels: a contract step": "DROP TABLE intake.labels;",
    "LOCK TABLE": "LOCK TABLE intake.incidents IN ACCESS EXCLUSIVE MODE;",
    "lock_timeout 0": "SET lock_timeout = 0;\nALTER TABLE intake.incidents ADD COLUMN x int;",
    "DROP INDEX without CONCURRENTLY": "DROP INDEX intake.incidents_label;",
}


@pytest.mark.parametrize("sql", SAFE.values(), ids=SAFE.keys())
def test_expand_steps_are_online_safe(sql):
    verdict = online.check("intake/0099_x", sql)
    assert verdict.safe, verdict.problems
    assert verdict.line().startswith("online-safe (")


@pytest.mark.parametrize("problem, sql", UNSAFE.items(), ids=UNSAFE.keys())
def test_long_locks_rewrites_backfills_and_unmarked_contract_steps_are_not(problem, sql):
    verdict = online.check("intake/0099_x", sql)
    assert not verdict.safe
    assert problem in verdict.line(), verdict.line()


def test_statements_split_outside_quotes_dollar_bodies_and_comments():
    sql = ("INSERT INTO t VALUES ('a;b'); -- a comment; with a semicolon\n"
           "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n/* x; y */ SELECT 2")
    assert online.statements(sql) == ["INSERT INTO t VALUES ('a;b')",
                                      "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
                                      "SELECT 2"]


def test_a_concurrent_file_is_marked_to_run_outside_a_transaction():
    assert online.check("x", SAFE["an index built concurrently"]).concurrent
    assert not online.check("x", SAFE["a new table and its index"]).concurrent


def test_the_migrator_sets_a_lock_timeout_for_every_file():
    assert online.check("x", "ALTER TABLE intake.incidents ADD COLUMN x int;").lock_timeout == \
        online.DEFAULT_LOCK_TIMEOUT == "5s"


ALL = sorted({m for c in CASE_STORE_COMPONENTS + STATISTICS_COMPONENTS + WORKBENCH_COMPONENTS for m in migrations_of(c)},
             key=lambda m: m.label)


def test_the_last_release_knows_every_component():
    assert set(online.RELEASED) == {c.name for c in CASE_STORE_COMPONENTS + STATISTICS_COMPONENTS}


@pytest.mark.parametrize("migration", [m for m in ALL if not online.released(m)] or [None],
                         ids=lambda m: m.label if m else "none-since-the-release")
def test_every_migration_since_the_last_release_is_online_safe(migration):
    """The previous release's services run against it during an upgrade (docs/operations.md)."""
    if migration is None:
        pytest.skip("no migration since the last release")
    verdict = online.check(migration.label, migration.sql)
    assert verdict.safe or migration.label in online.KNOWN_OFFLINE, f"{migration.label}: {verdict.line()}"


def test_services_are_replaced_consumers_before_producers():
    from types import SimpleNamespace as Sub

    from hub.ops.upgrade import describe, hub_upgrade_order, hub_upgrade_waves, upgrade_order
    from hub.registry import all_subscriptions

    order = hub_upgrade_order()
    assert describe(hub_upgrade_waves()).endswith(", then triage, then intake")
    for sub in all_subscriptions():
        if sub.source != sub.service:
            assert order.index(sub.service) < order.index(sub.source), f"{sub.service} consumes {sub.source}'s events"
    assert order[-1] == "intake"  # intake consumes nothing: the old one takes incidents until the very end
    with pytest.raises(ValueError, match="consume each other's events"):
        upgrade_order([Sub(source="a", service="b"), Sub(source="b", service="a")], ["a", "b"])
