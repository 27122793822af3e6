"""Whether a migration can be applied while the hub runs (`meldpunt migrate --check`): a static check of its SQL
against the conventions of expand/contract migrations (docs/operations.md#upgrades-without-stopping-intake).

Online-safe means: no lock held for long on a table the running services use, and nothing the previous
release still reads taken away. So, on a table that exists before the migration:
- indexes are built CONCURRENTLY (in a file of their own, `IF NOT EXISTS`: such a file runs outside a
  transaction, statement by statement);
- no table rewrite or full scan under an exclusive lock: no ALTER COLUMN ... TYPE, no SET NOT NULL, no ADD
  COLUMN with a volatile default or NOT NULL without a default, constraints added NOT VALID (validated in
  a later statement, which does not block writes);
- no backfill in the migration (UPDATE or DELETE of existing rows: one long transaction); do it in batches;
- no LOCK TABLE, VACUUM FULL, CLUSTER, REINDEX without CONCURRENTLY;
- a `lock_timeout` of at most LOCK_TIMEOUT_LIMIT: the migrator sets DEFAULT_LOCK_TIMEOUT for every file, so a
  DDL statement waiting behind a long transaction gives up instead of making every query queue behind it;
- contract steps (DROP COLUMN, DROP TABLE, RENAME) only a release after the code that read the old shape is
  gone, and then marked `-- contract: <what no running release reads any more>`.
New tables, new nullable columns or columns with a constant default, new functions and views are expand steps.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_LOCK_TIMEOUT = "5s"    # the migrator's, for every migration file (shared/db/migrate.py)
LOCK_TIMEOUT_LIMIT_MS = 10_000

# The newest migration of each component in the last release (v0.1.0): every later one must be online-safe,
# since the previous release's services run against it during an upgrade. Raise these at each release.
RELEASED = {"hub_core": 2, "hub_case_store": 2, "intake": 5, "triage": 3, "police_liaison": 3, "aftercare": 3,
            "statistics": 7, "signals": 0, "hub_key_store": 0, "zaaksysteem": 0}
# Later migrations that knowingly are not online-safe (label -> why; the release notes say to stop the hub).
KNOWN_OFFLINE: dict[str, str] = {}

_VOLATILE = re.compile(r"\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|random|"
                       r"gen_random_uuid|uuid_generate_v4|nextval|timeofday)\s*\(|\bcurrent_timestamp\b", re.I)


@dataclass
class Verdict:
    label: str
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)        # what it does that is fine, for the report
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT
    concurrent: bool = False                         # runs outside a transaction (CREATE INDEX CONCURRENTLY)

    @property
    def safe(self) -> bool:
        return not self.problems

    def line(self) -> str:
        if self.safe:
            what = "; ".join(self.notes) or "no statement on an existing table"
            return f"online-safe ({what}; lock_timeout {self.lock_timeout})"
        return "NOT online-safe: " + "; ".join(self.problems)


def strip_comments(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    return re.sub(r"--[^\n]*", " ", sql)


def statements(sql: str) -> list[str]:
    """The statements of a migration, split on `;` outside quotes and dollar-quoted bodies."""
    text = strip_comments(sql)
    found, start, i, n = [], 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == "'":
            i = text.find("'", i + 1)
            i = n if i < 0 else i + 1
            continue
        if c == "$":
            m = re.match(r"\$[A-Za-z_]*\$", text[i:])
            if m:
                end = text.find(m.group(0), i + len(m.group(0)))
                i = n if end < 0 else end + len(m.group(0))
                continue
        if c == ";":
            found.append(text[start:i])
            start = i + 1
        i += 1
    found.append(text[start:])
    return [" ".join(s.split()) for s in found if s.strip()]


def _bare(name: str) -> str:
    return name.strip('"').split(".")[-1].strip('"').lower()


def _ms(value: str) -> int | None:
    m = re.fullmatch(r"'?\s*(\d+)\s*(ms|s|min)?\s*'?", value.strip().lower())
    if not m:
        return None
    return int(m.group(1)) * {"ms": 1, "s": 1000, "min": 60_000, None: 1}[m.group(2)]


def check(label: str, sql: str) -> Verdict:
    verdict = Verdict(label)
    contract = re.search(r"--\s*contract:\s*\S", sql, re.I) is not None
    created: set[str] = set()
    parts = statements(sql)
    verdict.concurrent = any(re.search(r"\bCONCURRENTLY\b", s, re.I) for s in parts)
    for statement in parts:
        s = statement.upper()
        m = re.match(r"SET (LOCAL )?LOCK_TIMEOUT\s*(=|TO)\s*(.+)$", s)
        if m:
            verdict.lock_timeout = m.group(3).strip().strip("'").lower()
            ms = _ms(m.group(3))
            if ms is None or ms == 0 or ms > LOCK_TIMEOUT_LIMIT_MS:
                verdict.problems.append(f"lock_timeout {verdict.lock_timeout}: at most "
                                        f"{LOCK_TIMEOUT_LIMIT_MS // 1000} s, never 0")
            continue
        m = re.match(r"CREATE (UNLOGGED )?TABLE (IF NOT EXISTS )?([\w.\"]+)", s)
        if m:
            created.add(_bare(m.group(3)))
            continue
        m = re.match(r"CREATE (UNIQUE )?INDEX (CONCURRENTLY )?(IF NOT EXISTS )?(\S+ )?ON (ONLY )?([\w.\"]+)", s)
        if m:
            table = _bare(m.group(6))
            if table in created:
                continue
            if not m.group(2):
                verdict.problems.append(f"CREATE INDEX on existing table {table} without CONCURRENTLY: it blocks "
                                        "writes for the whole build")
            elif not m.group(3):
                verdict.problems.append(f"CREATE INDEX CONCURRENTLY on {table} without IF NOT EXISTS: a second "
                                        "run after a failed one must be able to go on")
            else:
                verdict.notes.append(f"builds an index on {table} concurrently")
            continue
        if re.match(r"DROP INDEX (CONCURRENTLY )?", s):
            if "CONCURRENTLY" not in s:
                verdict.problems.append("DROP INDEX without CONCURRENTLY takes an exclusive lock on its table")
            continue
        m = re.match(r"ALTER TABLE (IF EXISTS )?(ONLY )?([\w.\"]+) (.*)$", s)
        if m:
            table, rest = _bare(m.group(3)), m.group(4)
            if table in created:
                continue
            problems = _alter_problems(table, rest, contract)
            verdict.problems += problems
            if not problems:
                verdict.notes.append(f"changes {table} briefly ({_what(rest)})")
            continue
        m = re.match(r"(UPDATE|DELETE FROM) (ONLY )?([\w.\"]+)", s)
        if m and _bare(m.group(3)) not in created:
            verdict.problems.append(f"{m.group(1).split()[0]} of {_bare(m.group(3))} in the migration: one long "
                                    "transaction over existing rows; backfill in batches outside the migration")
            continue
        m = re.match(r"(DROP TABLE|TRUNCATE)( TABLE)? (IF EXISTS )?([\w.\"]+)", s)
        if m and not contract:
            verdict.problems.append(f"{m.group(1)} {_bare(m.group(4))}: a contract step; only once no running release "
                                    "reads it, marked `-- contract: …`")
            continue
        if re.match(r"(LOCK TABLE|LOCK \S|VACUUM FULL|CLUSTER|REINDEX)", s) and "CONCURRENTLY" not in s:
            verdict.problems.append(f"{' '.join(statement.split()[:2])}: holds an exclusive lock for long")
            continue
        m = re.match(r"(CREATE|DROP) TRIGGER .* ON ([\w.\"]+)", s)
        if m and _bare(m.group(2)) not in created:
            verdict.notes.append(f"{m.group(1).lower()}s a trigger on {_bare(m.group(2))} briefly")
    if verdict.concurrent:
        others = [s for s in parts if not re.match(r"(CREATE (UNIQUE )?INDEX CONCURRENTLY|DROP INDEX CONCURRENTLY|"
                                                  r"SET )", s, re.I)]
        if others:
            verdict.problems.append("a file with CONCURRENTLY runs outside a transaction: it may hold only "
                                    "CREATE/DROP INDEX CONCURRENTLY statements (put the rest in another file)")
    return verdict


def _what(rest: str) -> str:
    first = rest.split(",")[0].strip().lower()
    return " ".join(first.split()[:4])


def _alter_problems(table: str, rest: str, contract: bool) -> list[str]:
    problems = []
    for clause in _clauses(rest):
        c = clause.strip()
        if re.match(r"ADD (COLUMN )?(IF NOT EXISTS )?", c) and not re.match(r"ADD (CONSTRAINT|PRIMARY|UNIQUE|"
                                                                               r"FOREIGN|CHECK|EXCLUDE)", c):
            if " NOT NULL" in c and " DEFAULT " not in c:
                problems.append(f"ADD COLUMN NOT NULL without a default on {table}: fails on a table with rows, "
                                "or needs a rewrite")
            elif " DEFAULT " in c and _VOLATILE.search(c.split(" DEFAULT ", 1)[1]):
                problems.append(f"ADD COLUMN with a volatile default on {table}: rewrites the table under an "
                                "exclusive lock; add it without, then fill it in batches")
            elif re.search(r"\b(PRIMARY KEY|UNIQUE|REFERENCES)\b", c):
                problems.append(f"ADD COLUMN with a constraint on {table}: builds an index or scans under the lock; "
                                "add the column, then the constraint NOT VALID or an index CONCURRENTLY")
        elif re.match(r"ADD (CONSTRAINT \S+ )?(FOREIGN KEY|CHECK)", c) and "NOT VALID" not in c:
            problems.append(f"ADD CONSTRAINT on {table} without NOT VALID: scans the table under the lock; add it NOT "
                            "VALID, then VALIDATE CONSTRAINT")
        elif re.match(r"ADD (CONSTRAINT \S+ )?(PRIMARY KEY|UNIQUE|EXCLUDE)", c) and "USING INDEX" not in c:
            problems.append(f"ADD CONSTRAINT on {table} builds an index under the lock: build it CONCURRENTLY first, "
                            "then ADD CONSTRAINT … USING INDEX")
        elif re.match(r"ALTER (COLUMN )?\S+ (SET DATA )?TYPE ", c):
            problems.append(f"ALTER COLUMN … TYPE on {table}: rewrites the table under an exclusive lock; add a new "
                            "column instead (expand), switch the code, drop the old one a release later")
        elif re.match(r"ALTER (COLUMN )?\S+ SET NOT NULL", c):
            problems.append(f"SET NOT NULL on {table}: scans the table under an exclusive lock; add CHECK (… IS NOT "
                            "NULL) NOT VALID and VALIDATE it instead")
        elif re.match(r"(DROP (COLUMN|CONSTRAINT)|RENAME)", c) and not contract:
            problems.append(f"{' '.join(c.split()[:2])} on {table}: a contract step; the previous release may still "
                            "use it: only a release later, marked `-- contract: …`")
        elif re.match(r"SET (LOGGED|UNLOGGED|TABLESPACE)|CLUSTER ON", c):
            problems.append(f"{' '.join(c.split()[:2])} on {table}: rewrites the table under an exclusive lock")
    return problems


def _clauses(rest: str) -> list[str]:
    """The comma-separated clauses of an ALTER TABLE, commas inside parentheses kept."""
    clauses, depth, current = [], 0, []
    for ch in rest:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            clauses.append("".join(current))
            current = []
        else:
            current.append(ch)
    clauses.append("".join(current))
    return [c for c in clauses if c.strip()]


def released(migration) -> bool:
    """Part of the last release (RELEASED): written before the online rule held."""
    return migration.version <= RELEASED.get(migration.component, 0)
