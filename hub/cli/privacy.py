"""`meldpunt erase` and `meldpunt retention`: the right to erasure and the retention period (AVG)."""
from __future__ import annotations

from hub.cli.common import CommandError, actor, case_store_errors, store_opener, subcommands


def register(sub) -> None:
    erase = sub.add_parser("erase", help="right to erasure (AVG art. 17): erase one case's personal data, "
                                         "keeping codes and dates for the statistics")
    erase.add_argument("code")
    erase.add_argument("--case", dest="case_id", required=True)
    erase.add_argument("--reason", required=True, help="why (kept in the audit log; no personal data)")
    erase.set_defaults(handler=erase_case)

    retention = subcommands(sub.add_parser("retention", help="erase personal data of closed cases past the "
                                                             "retention period"))
    rrun = retention.add_parser("run", help="erase what is due now (run daily, e.g. from cron)")
    rrun.add_argument("code", nargs="?", help="only this municipality (default: all)")
    rrun.set_defaults(handler=run_retention)

    hold = subcommands(sub.add_parser("hold", help="legal hold: a case that neither retention nor `erase` erases "
                                                   "until the hold is lifted (audited)"))
    for name, text in (("set", "put a case under legal hold"), ("lift", "lift a case's legal hold")):
        one = hold.add_parser(name, help=text)
        one.add_argument("code")
        one.add_argument("--case", dest="case_id", required=True)
        one.add_argument("--reason", required=True, help="why (e.g. the court's case number; no personal data)")
        one.set_defaults(handler=hold_case, hold_action=name)
    listing = hold.add_parser("list", help="the cases under legal hold")
    listing.add_argument("code")
    listing.set_defaults(handler=list_holds)


def erase_case(settings, args) -> int:
    import uuid

    from shared.personal_data import erase_case as erase

    try:
        case_id = uuid.UUID(args.case_id)
    except ValueError:
        raise CommandError(f"--case must be a case id (UUID), not {args.case_id!r}") from None
    if not args.reason.strip():
        raise CommandError("--reason must not be empty")
    with case_store_errors(args.code), store_opener(settings, args.code)() as uow:
        outcome = erase(uow, case_id, actor(), args.reason.strip())
    if outcome == "unknown":
        raise CommandError(f"{args.code} has no case {case_id}")
    if outcome == "on legal hold":
        raise CommandError(f"case {case_id} of {args.code} is under legal hold: lift it first "
                           "(meldpunt hold lift)")
    print(f"case {case_id} of {args.code}: {outcome}" + (
        "; codes and dates stay for the statistics" if outcome == "erased" else ""))
    if outcome == "erased":
        _follow_in_repeat_index(settings, args.code)
    return 0


def _case_and_reason(args):
    import uuid

    try:
        case_id = uuid.UUID(args.case_id)
    except ValueError:
        raise CommandError(f"--case must be a case id (UUID), not {args.case_id!r}") from None
    if not args.reason.strip():
        raise CommandError("--reason must not be empty")
    return case_id, args.reason.strip()


def hold_case(settings, args) -> int:
    from shared.personal_data import lift_hold, set_hold

    case_id, reason = _case_and_reason(args)
    act = set_hold if args.hold_action == "set" else lift_hold
    with case_store_errors(args.code), store_opener(settings, args.code)() as uow:
        outcome = act(uow, case_id, reason, actor())
    if outcome == "unknown":
        raise CommandError(f"{args.code} has no case {case_id}")
    print(f"case {case_id} of {args.code}: legal hold {outcome}")
    return 0


def list_holds(settings, args) -> int:
    from shared.personal_data import holds

    with case_store_errors(args.code), store_opener(settings, args.code)() as uow:
        rows = holds(uow)
    for row in rows:
        print(f"{row['case_id']}  since {row['set_at']:%Y-%m-%d}  by {row['set_by']}  ({row['reason']})")
    if not rows:
        print(f"{args.code}: no case under legal hold")
    return 0


def _follow_in_repeat_index(settings, code: str) -> None:
    """Take what the store no longer knows out of triage's regional index of keyed hashes now; when the
    index cannot be reached, triage's next visit of the store does it (services/triage/repeat_index.py)."""
    from services.triage.handlers import reconcile_index
    from shared.db.migrate import REPEAT_INDEX, targets_of
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    index_dsn = next((dsn for label, dsn, _ in targets_of(settings.region) if label == REPEAT_INDEX), None)
    if index_dsn is None:
        return
    pool = ConnectionPool(2, application_name="meldpunt-cli")  # the index and the store at once
    opened = Stores(settings, pool, "cli")
    try:
        reconcile_index(code, opened.case_store, lambda: opened.unit_of_work(index_dsn))
    except Exception as exc:  # noqa: BLE001 — the erasure itself is done; the index follows later
        print(f"the region's repeat index follows at triage's next visit of {code} ({type(exc).__name__})")
    finally:
        pool.close()


def run_retention(settings, args) -> int:
    from shared.clock import Clock
    from shared.personal_data import run_retention as run

    codes = [args.code] if args.code else settings.region.codes
    for code in codes:
        opener = store_opener(settings, code)
        years = settings.region.municipality(code).retention_years
        with case_store_errors(code):
            erased = run(opener, years, Clock().now(), actor())
        if erased:
            _follow_in_repeat_index(settings, code)
        print(f"{code}: erased the personal data of {len(erased)} case(s) closed more than {years} year(s) ago")
    return 0
