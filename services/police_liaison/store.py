"""Police liaison's tables in the municipality's case store (schema `police_liaison`)."""


def insert_referral(uow, referral, actor: str) -> bool:
    """Store a new referral; False if the case already has one."""
    cur = uow.execute(
        "INSERT INTO police_liaison.referrals (referral_id, case_id, police_unit, status, categories, urgency) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (case_id) DO NOTHING",
        (referral.referral_id, referral.case_id, referral.police_unit, referral.status,
         referral.categories, referral.urgency))
    inserted = cur.rowcount == 1
    cur.close()
    if inserted:
        uow.execute("INSERT INTO police_liaison.referral_steps (referral_id, status, actor) VALUES (%s, %s, %s)",
                    (referral.referral_id, referral.status, actor)).close()
    return inserted
