"""`meldpunt doctor`: every dependency of the hub checked, one line each with what to do (hub/ops/doctor.py)."""
from __future__ import annotations


def register(sub) -> None:
    sub.add_parser("doctor", help="check every dependency of the hub, one line each with what to do; exit 1 "
                                  "when something is wrong").set_defaults(handler=doctor)


def doctor(settings, args) -> int:
    from hub.ops.doctor import doctor as check_all, report

    return report(check_all(settings))
