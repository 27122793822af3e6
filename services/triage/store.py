"""Triage's tables in the municipality's case store (schema `triage`)."""


def save_result(uow, case_id, result) -> bool:
    """Store the result; False if this case was already triaged."""
    cur = uow.execute(
        "INSERT INTO triage.results (case_id, categories, urgency, decisions, reasons, rules_version) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (case_id) DO NOTHING",
        (case_id, result.categories, result.urgency, result.decisions, result.reasons, result.rules_version))
    inserted = cur.rowcount == 1
    cur.close()
    return inserted
