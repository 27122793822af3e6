"""shared/personal_data.py: every personal field of a report is encrypted, and the registry of
encrypted columns agrees with the migrations."""
from __future__ import annotations

import re

from shared.config import REPO_ROOT
from shared.personal_data import INCIDENT_PERSONAL, SEALED

from services.intake.schemas import IncidentReportSchema
from services.intake.store import personal_of

# What a report may hold in the clear: codes, booleans, dates (events carry these too).
NOT_PERSONAL = {"occurred_at", "occurred_at_precision", "occurred_until", "location_type", "target_role",
                "categories", "consent", "reporter_relation", "aangifte_help", "direct_danger"}


def test_every_field_of_a_report_is_either_a_code_or_encrypted():
    fields = set(IncidentReportSchema().fields)
    assert fields - NOT_PERSONAL == set(INCIDENT_PERSONAL), (
        "a new field of the report: add it to INCIDENT_PERSONAL (encrypted) or, if it is only a code, "
        "to NOT_PERSONAL here")


def test_the_personal_part_of_a_report_is_what_gets_sealed():
    report = {"description": "d", "own_kind": "o", "location_detail": "l", "target": {"department": "x"},
              "reporter": {"name": "n"}, "perpetrators": [{"name": "p"}], "witnesses": [{"name": "w"}],
              "injuries": "i", "damage": "s", "location_type": "balie", "consent": {}}
    assert set(personal_of(report)) == set(INCIDENT_PERSONAL)
    assert "location_type" not in personal_of(report)


def test_every_sealed_column_is_made_by_a_migration():
    sql = "\n".join(p.read_text() for pattern in ("services/*/migrations/*.sql", "shared/migrations/*/*.sql")
                    for p in REPO_ROOT.glob(pattern))
    for entry in SEALED:
        schema, table = entry.table.split(".")
        assert re.search(rf"\b{entry.column}\s+bytea", sql), entry
        assert re.search(rf"(CREATE|ALTER) TABLE {schema}\.{table}\b", sql), entry
        for column in entry.legacy:
            assert re.search(rf"\b{column}\b", sql), (entry, column)


def test_every_service_that_holds_personal_data_needs_the_master_key():
    from shared.dependencies import needs_master_key
    from hub.registry import service_class

    needs = {name: needs_master_key(service_class(name))
             for name in ("intake", "triage", "police_liaison", "aftercare", "statistics")}
    assert needs == {"intake": True, "triage": True, "police_liaison": True, "aftercare": True, "statistics": False}
