"""`meldpunt disclosures`: what personal data of a case left its store, to whom, when, why and how
(the disclosure ledger, shared/disclosures.py)."""
from __future__ import annotations

from hub.cli.common import CommandError, actor, case_store, case_store_errors


def register(sub) -> None:
    ledger = sub.add_parser("disclosures", help="the disclosure ledger of one case: which fields left, to whom, "
                                                "when, on which legal basis, through which channel")
    ledger.add_argument("code")
    ledger.add_argument("--case", dest="case_id", required=True)
    ledger.add_argument("--json", action="store_true", help="one JSON object per line")
    ledger.set_defaults(handler=show)


def show(settings, args) -> int:
    import json
    import uuid

    try:
        case_id = uuid.UUID(args.case_id)
    except ValueError:
        raise CommandError(f"--case must be a case id (UUID), not {args.case_id!r}") from None
    from shared.disclosures import as_json

    with case_store_errors(args.code), case_store(settings, args.code) as uow:
        rows = uow.disclosed(case_id)
        uow.audit(actor(), "read", f"disclosure ledger ({len(rows)} rows)", case_id=case_id,
                  reason="meldpunt disclosures")
    for row in rows:
        if args.json:
            print(json.dumps(as_json(row), sort_keys=True))
            continue
        basis = row["legal_basis"] + (f" ({row['consent_version']})" if row["consent_version"] else "")
        print(f"{row['at']:%Y-%m-%d %H:%M:%S%z}  {row['status']:<9} {row['channel']:<16} "
              f"{row['recipient_kind']}:{row['recipient']}  {basis}  {row['purpose']}  "
              f"fields={','.join(row['fields'])}" + (f"  by {row['actor']}" if row["actor"] else ""))
    if not rows and not args.json:
        print(f"no disclosures for case {case_id}")
    return 0
