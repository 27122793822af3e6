"""A service reads and writes only its own schema: the count of SQL that names another service's schema is
zero outside shared/case_views.py (the one module for the few synchronous cross-service reads)."""
from __future__ import annotations

import io
import re
import sys
import tokenize

from shared.config import REPO_ROOT
from shared.names import SERVICES

SERVICES_DIR = REPO_ROOT / "services"
NAMED = re.compile(r"\b(" + "|".join(SERVICES) + r")\.([a-z_]+)\b")
SQL_WORD = re.compile(r"\b(SELECT|FROM|JOIN|INTO|UPDATE|TABLE|REFERENCES|SCHEMA)\b", re.I)


def _texts(path):
    """The SQL a file can hold: a migration whole; of Python code, its string literals."""
    if path.suffix == ".sql":
        return [path.read_text()]
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [t.string for t in tokens if t.type == tokenize.STRING or t.type == getattr(tokenize, "FSTRING_MIDDLE", -1)]


def foreign_tables(service: str) -> list[str]:
    found = []
    for path in sorted((SERVICES_DIR / service).rglob("*")):
        if path.suffix not in (".py", ".sql"):
            continue
        for text in _texts(path):
            for schema, table in NAMED.findall(text):
                # a table name in SQL, or a table constant ("intake.incidents") used in SQL elsewhere
                if schema != service and (SQL_WORD.search(text) or re.fullmatch(r"['\"]\w+\.\w+['\"]", text)):
                    found.append(f"{path.relative_to(REPO_ROOT)}: {schema}.{table}")
    return found


def test_no_service_reads_another_services_tables():
    leaks = [leak for service in SERVICES for leak in foreign_tables(service)]
    assert leaks == [], "use shared/case_views.py, an event, or the other service's API:\n" + "\n".join(leaks)


def test_the_check_sees_a_leak(tmp_path, monkeypatch):
    """The check is not blind: SQL on another schema in a service folder is found, in a string or
    a table constant."""
    (tmp_path / "triage").mkdir()
    (tmp_path / "triage" / "store.py").write_text(
        'T = "aftercare.care_plans"\n'
        'def leak(uow):\n    return uow.fetchone("SELECT consent FROM intake.incidents WHERE case_id = %s")\n')
    monkeypatch.setattr(sys.modules[__name__], "SERVICES_DIR", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "REPO_ROOT", tmp_path)
    assert foreign_tables("triage") == ["triage/store.py: aftercare.care_plans", "triage/store.py: intake.incidents"]
