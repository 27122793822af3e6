"""`meldpunt apikey`: a municipality's API keys and their signing secrets."""
from __future__ import annotations

from hub.cli.common import CommandError, case_store, case_store_errors, keyring, subcommands


def register(sub) -> None:
    key = subcommands(sub.add_parser("apikey", help="manage a municipality's API keys"))
    create = key.add_parser("create", help="create a key; it is printed once, as the last line")
    create.add_argument("code")
    create.add_argument("--label", required=True)
    create.add_argument("--role", default="intake_channel")
    revoke = key.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("code")
    revoke.add_argument("key_id")
    listing = key.add_parser("list", help="list a municipality's keys (never the keys themselves)")
    listing.add_argument("code")
    sign = key.add_parser("sign", help="give a key a (new) HMAC signing secret, printed once as the last line; "
                                       "from then on its requests must be signed")
    sign.add_argument("code")
    sign.add_argument("key_id")
    unsign = key.add_parser("unsign", help="drop a key's signing secret: its requests need no signature")
    unsign.add_argument("code")
    unsign.add_argument("key_id")
    for parser in (create, revoke, listing, sign, unsign):
        parser.set_defaults(handler=apikey)


def apikey(settings, args) -> int:
    from shared import auth

    with case_store_errors(args.code):
        if args.action == "create":
            if args.role not in auth.ROLES:
                raise CommandError(f"--role must be one of {', '.join(auth.ROLES)}")
            if not args.label.strip():
                raise CommandError("--label must not be empty")
            with case_store(settings, args.code) as uow:
                key_id, key = auth.create_key(uow, args.label.strip(), args.role)
            print(f"created key {key_id} for {args.code} ({args.role}, {args.label.strip()}); "
                  "it is shown once, keep it safe:")
            print(key)
        elif args.action in ("sign", "unsign"):
            _signing(settings, args)
        elif args.action == "revoke":
            with case_store(settings, args.code) as uow:
                if not auth.revoke_key(uow, args.key_id):
                    raise CommandError(f"{args.code} has no active key {args.key_id}")
            print(f"revoked key {args.key_id} of {args.code}")
        else:
            with case_store(settings, args.code) as uow:
                for row in auth.list_keys(uow):
                    state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "active"
                    print(f"{row['key_id']}  {row['role']:<16} {state:<18} {row['label']}")
    return 0


def _signing(settings, args) -> None:
    from shared import auth, signatures

    with case_store(settings, args.code) as uow:
        known = uow.fetchone("SELECT revoked_at FROM hub.api_keys WHERE key_id = %s", (args.key_id,))
        if known is None or known["revoked_at"] is not None:
            raise CommandError(f"{args.code} has no active key {args.key_id}")
        if args.action == "unsign":
            if not auth.drop_signing_secret(uow, args.key_id):
                raise CommandError(f"key {args.key_id} of {args.code} has no signing secret")
            uow.audit("cli", "revoke", f"signing secret of api key {args.key_id}")
            print(f"key {args.key_id} of {args.code} no longer signs its requests")
            return
        keyring(settings)  # a clear error without a master key
        secret = signatures.new_secret()
        auth.set_signing_secret(uow, args.key_id, secret)
        uow.audit("cli", "create", f"signing secret of api key {args.key_id}")
    print(f"key {args.key_id} of {args.code} must now sign every request to every service (X-Meldpunt-Timestamp, "
          "X-Meldpunt-Signature over method, path, query, timestamp and body); its signing secret is shown once, "
          "keep it safe:")
    print(secret)
