"""`meldpunt keys`: the master key for encryption at rest and each municipality's data keys."""
from __future__ import annotations

from hub.cli.common import CommandError, actor, case_store_errors, need_master_key, store_opener, subcommands


def register(sub) -> None:
    keys = subcommands(sub.add_parser("keys", help="the master key for encryption at rest"), dest="keys_command")
    init = keys.add_parser("init", help="create a local master key file (0600) if there is none")
    init.add_argument("--file", help="where (default: $MELDPUNT_MASTER_KEY_FILE or var/master.key)")
    # before the settings are read: they refuse a key file that is not there yet
    init.set_defaults(handler=init_file, without_settings=True)
    rotate = keys.add_parser("rotate", help="a new data key version for a municipality; re-encrypts every "
                                            "value with it in small batches while the hub runs, then retires the old")
    rotate.add_argument("code")
    rotate.add_argument("--batch", type=int, default=100, help="values per column per transaction (default 100)")
    rotate.set_defaults(handler=rotate_data_key)
    keys.add_parser("status", help="each municipality's data key versions and how many values use each") \
        .set_defaults(handler=status)
    master = keys.add_parser("rotate-master", help="re-wrap every municipality's data keys with the master key "
                                                   "(MELDPUNT_MASTER_KEY) that were wrapped by the previous one "
                                                   "(MELDPUNT_MASTER_KEY_PREVIOUS); no data is decrypted; while "
                                                   "the hub runs")
    master.add_argument("code", nargs="?", help="only this municipality (default: all)")
    master.set_defaults(handler=rotate_master)
    rehash = keys.add_parser("rehash-identities", help="give triage's stored identity hashes anew with the identity "
                                                       "key derived from the region secret (once, after upgrading "
                                                       "to it); needs the master key and the region secret")
    rehash.add_argument("code", nargs="?", help="only this municipality (default: all)")
    rehash.set_defaults(handler=rehash_identities)
    keys.add_parser("derive-statistics", help="print MELDPUNT_STATISTICS_KEY=…, statistics' own key derived from the "
                                              "region secret: the statistics service gets it instead of the secret") \
        .set_defaults(handler=derive_statistics)


def init_file(settings, args) -> int:
    import os
    from pathlib import Path

    from shared.config import REPO_ROOT
    from shared.crypto import write_master_key_file

    path = Path(args.file or os.environ.get("MELDPUNT_MASTER_KEY_FILE")
                or Path(os.environ.get("MELDPUNT_VAR_DIR") or REPO_ROOT / "var") / "master.key")
    if write_master_key_file(path):
        print(f"created master key file {path} (mode 0600); keep it out of the repository")
    else:
        print(f"master key file {path} exists; left unchanged")
    return 0


def status(settings, args) -> int:
    from shared.personal_data import values_not_on

    need_master_key(settings)
    for m in settings.region.municipalities:
        with case_store_errors(m.code), store_opener(settings, m.code)() as uow:
            versions = uow.fetchall("SELECT version, created_at, retired_at FROM hub.data_keys ORDER BY version")
            for row in versions:
                state = f"retired {row['retired_at']:%Y-%m-%d %H:%M}" if row["retired_at"] else "active"
                print(f"{m.code}  v{row['version']}  made {row['created_at']:%Y-%m-%d %H:%M}  {state}")
            if versions:
                newest = versions[-1]["version"]
                print(f"{m.code}  values not on v{newest}: {values_not_on(uow, newest)}")
            else:
                print(f"{m.code}  no data key yet (made on the first encrypted write)")
    return 0


def rotate_data_key(settings, args) -> int:
    from shared.crypto import CryptoError
    from shared.personal_data import rotate

    need_master_key(settings)
    if args.batch < 1:
        raise CommandError("--batch must be at least 1")
    opener = store_opener(settings, args.code)
    try:
        with case_store_errors(args.code):
            rotate(opener, actor(), batch_size=args.batch, report=lambda line: print(f"{args.code}: {line}"))
    except CryptoError as exc:
        raise CommandError(f"{args.code}: {exc}") from None
    return 0


def rotate_master(settings, args) -> int:
    """Each municipality in one short transaction: its few data keys are unwrapped with the previous master key
    and wrapped with the current one. Services started with both keys read on throughout; those started with
    the new key alone can read everything once this is done."""
    from shared.crypto import CryptoError

    need_master_key(settings)
    codes = [args.code] if args.code else settings.region.codes
    for code in codes:
        opener = store_opener(settings, code)
        try:
            with case_store_errors(code), opener() as uow:
                moved = uow.keyring.rewrap_master(uow)
                if moved:
                    uow.audit(actor(), "rotate", f"master key: {moved} data key(s) re-wrapped")
        except CryptoError as exc:
            raise CommandError(f"{code}: {exc}: give the master key they were made with as "
                               "MELDPUNT_MASTER_KEY_PREVIOUS (or _FILE)") from None
        print(f"{code}: {moved} data key(s) re-wrapped with the current master key; none left on another")
    return 0


def rehash_identities(settings, args) -> int:
    from shared.config import region_secret

    from hub.cli.common import stores
    from services.triage.handlers import reconcile_index, rehash_identities as rehash

    need_master_key(settings)
    secret = region_secret(settings)  # a missing secret is a ConfigError: one line, exit 2
    index_dsn = (settings.region.options.get("triage") or {}).get("index_dsn")
    for code in [args.code] if args.code else settings.region.codes:
        with case_store_errors(code):
            count = rehash(store_opener(settings, code), secret)
            line = f"{code}: identity hashes of {count} case(s) made anew with the derived identity key"
            if index_dsn:  # the region's repeat index follows the store at once, not at the next scan
                opened = stores(settings)
                added, removed = reconcile_index(code, opened.case_store, lambda: opened.unit_of_work(index_dsn))
                line += f"; repeat index: {added} added, {removed} removed"
        print(line)
    return 0


def derive_statistics(settings, args) -> int:
    from shared.config import region_secret
    from shared.keyed import statistics_key

    secret = region_secret(settings)  # a missing secret is a ConfigError: one line, exit 2
    print(f"MELDPUNT_STATISTICS_KEY={statistics_key(secret).hex()}")
    return 0
