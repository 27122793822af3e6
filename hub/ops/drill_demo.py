"""`make restore-drill`: the restore drill end to end on a region of our own, never the system's servers.

A PostgreSQL server in a temp folder archives its WAL to a pgBackRest repository in the same folder
(configured by the same `backup setup` an operator runs); one municipality's case store gets incidents
through intake's import path (each with its outbox event and audit entry), some are erased, a full backup
is taken, more incidents and erasures follow, and the drill marks, changes, restores and compares.
`PrivateRegion` is also what the tests use.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

from hub.ops import backup
from hub.ops.pgserver import LocalServer
from hub.registry import load_settings
from shared.config import DEFAULT_REGION_FILE
from shared.crypto import new_master_key


class PrivateRegion:
    """One municipality and the statistics database on a server of our own, backed up with pgBackRest."""

    PREFIX = "meldpunt-private-"

    def __init__(self, code: str = "GM0687", root: Path | None = None):
        self.code = code
        self.root = Path(root or tempfile.mkdtemp(prefix=self.PREFIX))
        (self.root / "owner").write_text(str(os.getpid()))
        self.server = LocalServer(self.root / "pg", backup.free_port())
        self.stanza = backup.stanza_name("VR19", "127.0.0.1", self.server.port)
        self.region_file = self.root / "region.yaml"
        self.backup_options = {
            "repository": str(self.root / "backup" / "repository"),
            "cipher_key_file": str(self.root / "backup.key"),
            "config_file": str(self.root / "backup" / "pgbackrest.conf"),
            "log_dir": str(self.root / "backup" / "log"),
            "metrics_file": str(self.root / "backup" / "meldpunt_backup.prom"),
        }
        self.env = {"MELDPUNT_REGION": str(self.region_file), "MELDPUNT_MASTER_KEY": new_master_key(),
                    "MELDPUNT_REGION_SECRET": "private-region-secret-" + uuid.uuid4().hex}

    @property
    def settings(self):
        return load_settings({**os.environ, **self.env})

    @property
    def store_dsn(self) -> str:
        return self.server.dsn(f"store_{self.code.lower()}")

    def start(self, report=lambda line: None) -> "PrivateRegion":
        """Server up and archiving, region file written, stores migrated, backups set up; no backup yet."""
        os.chmod(self.root, 0o711)  # the server's user reaches its folders inside
        self.server.init()
        config = self.backup_options["config_file"]
        self.server.start({"wal_level": "replica", "archive_mode": "on", "archive_timeout": "60s", "fsync": "off",
                           "archive_command": f"'{backup.PGBACKREST} --config={config} --stanza={self.stanza} "
                                              "archive-push %p'"})
        region = yaml.safe_load(DEFAULT_REGION_FILE.read_text())
        region["municipalities"] = [dict(m, case_store_dsn=self.store_dsn) for m in region["municipalities"]
                                    if m["code"] == self.code]
        region["statistics_dsn"] = self.server.dsn("statistics")
        region.pop("key_store_dsn", None)  # case keys in the store itself: one server, one stanza (issue 21)
        for section in list(region):
            if section not in ("region", "statistics_dsn", "municipalities"):
                region[section] = only_municipality(region[section], self.code)
        if region.get("workbench"):
            region["workbench"]["database_dsn"] = self.server.dsn("workbench")
        if (region.get("triage") or {}).get("index_dsn"):
            region["triage"]["index_dsn"] = self.server.dsn("repeat_index")
        region["backup"] = self.backup_options
        self.region_file.write_text(yaml.safe_dump(region, sort_keys=False))
        from shared.db.migrate import migrate_region

        settings = self.settings
        migrate_region(settings.region, report=report, master_key=settings.master_key)
        problems = backup.setup(settings, report=report)
        if problems:
            raise backup.BackupError(problems[0])
        return self

    def stop(self) -> None:
        try:
            self.server.remove()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    @classmethod
    def remove_abandoned(cls) -> int:
        """Stop and delete the private regions whose process is gone without stopping them (a test run killed
        by its timeout): their servers would keep running and their folders hold case data."""
        removed = 0
        for folder in Path(tempfile.gettempdir()).glob(cls.PREFIX + "*"):
            try:
                owner = int((folder / "owner").read_text())
                os.kill(owner, 0)
                continue  # its process still runs
            except ProcessLookupError:
                pass
            except (OSError, ValueError):
                continue  # not one of ours, or not readable
            try:
                LocalServer(folder / "pg", 0).stop()
            except Exception:
                pass
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        return removed


def only_municipality(value, code: str):
    """A region file section with what it says about other municipalities left out (a mapping keyed by
    municipality code, a list of entries with such a `code`)."""
    is_other = lambda item: isinstance(item, str) and re.fullmatch(r"GM\d{4}", item) and item != code  # noqa: E731
    if isinstance(value, dict):
        return {k: only_municipality(v, code) for k, v in value.items() if not is_other(k)}
    if isinstance(value, list):
        return [only_municipality(v, code) for v in value if not (isinstance(v, dict) and is_other(v.get("code")))]
    return value


def incident_rows(count: int, seed: str) -> list:
    """`count` distinct reports as the import reads them ((line, body)), made up for the drill."""
    rows = []
    for n in range(count):
        rows.append((n + 1, {
            "occurred_at": "2026-11-20T14:05:00+01:00",
            "description": f"Oefenmelding {seed}-{n}: een bezoeker dreigde aan de balie.",
            "location_type": "balie", "target_role": "ambtenaar", "categories": ["bedreiging"],
            "reporter": {"name": f"Oefen Melder {n}", "email": f"melder{n}@oefen.example"},
            "consent": {"contact": True, "police_referral": False, "inform_manager": False,
                        "employer_reports": False},
        }))
    return rows


def import_incidents(settings, code: str, count: int, seed: str) -> list:
    """Store `count` incidents through intake's import path; their case ids."""
    from services.intake import bulk_import
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    checked = bulk_import.check(incident_rows(count, seed))
    assert not checked.bad, checked.bad
    pool = ConnectionPool(1, application_name="meldpunt-drill")
    try:
        with Stores(settings, pool, "intake").case_store(code) as uow:
            bulk_import.store_rows(uow, checked, f"drill-{seed}.jsonl", uuid.uuid4())
            return [r["case_id"] for r in uow.fetchall(
                "SELECT case_id FROM intake.imported_rows WHERE source = %s", (f"drill-{seed}.jsonl",))]
    finally:
        pool.close()


def erase(settings, code: str, case_ids, reason: str = "oefening: verzoek betrokkene") -> None:
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores
    from shared.personal_data import erase_case

    pool = ConnectionPool(1, application_name="meldpunt-drill")
    try:
        for case_id in case_ids:
            with Stores(settings, pool, "cli").case_store(code) as uow:
                erase_case(uow, case_id, "cli:drill", reason)
    finally:
        pool.close()


def main(argv=None) -> int:
    from hub.ops.drill import drill

    parser = argparse.ArgumentParser(prog="make restore-drill", description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=200, help="incidents before the backup (default 200)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    region = PrivateRegion()
    try:
        region.start(report=print)
        settings = region.settings
        cases = import_incidents(settings, region.code, args.incidents, "before-backup")
        erase(settings, region.code, cases[:2])
        print(f"{region.code}: {len(cases)} incident(s) imported, 2 erased")
        for problem in backup.run(settings, "full", report=print):
            print(problem)
            return 1
        later = import_incidents(settings, region.code, 20, "after-backup")
        erase(settings, region.code, later[:1])
        print(f"{region.code}: {len(later)} more incident(s) after the backup, 1 of them erased")

        def after_mark():
            gone = import_incidents(settings, region.code, 5, "after-mark")
            erase(settings, region.code, [cases[2]])
            print(f"{region.code}: after the mark: {len(gone)} more incident(s) and 1 more erasure (not in the restore)")

        result = drill(settings, region.code, scratch_root=region.root, after_mark=after_mark, report=print)
        print(f"restore drill {'passed' if result.ok else 'FAILED'} in {time.monotonic() - started:.1f} s")
        return 0 if result.ok else 1
    finally:
        region.stop()


if __name__ == "__main__":
    sys.exit(main())
