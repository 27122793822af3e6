"""Aftercare's tables in the municipality's case store (schema `aftercare`)."""


def insert_plan(uow, plan) -> bool:
    """Store a plan and its contact moments; False if the case already has a plan."""
    cur = uow.execute("INSERT INTO aftercare.care_plans (plan_id, case_id, urgency) VALUES (%s, %s, %s) "
                      "ON CONFLICT (case_id) DO NOTHING", (plan.plan_id, plan.case_id, plan.urgency))
    inserted = cur.rowcount == 1
    cur.close()
    if inserted:
        for moment in plan.moments:
            uow.execute("INSERT INTO aftercare.contact_moments (plan_id, kind, due_at) VALUES (%s, %s, %s)",
                        (plan.plan_id, moment.kind, moment.due_at)).close()
    return inserted
