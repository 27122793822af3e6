"""The workbench's tables in its own regional database (schema `workbench`): sign-ins under way,
sessions and the people who signed in. Cookie values are never stored, only their SHA-256."""
from __future__ import annotations

import hashlib

from services.workbench.domain import Person


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


# ------------------------------------------------------------------ sign-ins under way

def start_sign_in(uow, cookie: str, domain: str, state: str, nonce: str, code_verifier: str, next_path: str,
                  now) -> None:
    uow.execute("DELETE FROM workbench.sign_ins WHERE created_at < %s - interval '15 minutes'", (now,)).close()
    uow.execute("INSERT INTO workbench.sign_ins (id_hash, domain, state, nonce, code_verifier, next_path, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id_hash) DO UPDATE SET domain = EXCLUDED.domain, "
                "state = EXCLUDED.state, nonce = EXCLUDED.nonce, code_verifier = EXCLUDED.code_verifier, "
                "next_path = EXCLUDED.next_path, created_at = EXCLUDED.created_at",
                (digest(cookie), domain, state, nonce, code_verifier, next_path, now)).close()


def take_sign_in(uow, cookie: str, now) -> dict | None:
    """The sign-in this browser started (at most 15 minutes ago), used up: a code comes back once."""
    return uow.fetchone("DELETE FROM workbench.sign_ins WHERE id_hash = %s AND created_at > %s - interval '15 minutes' "
                        "RETURNING domain, state, nonce, code_verifier, next_path", (digest(cookie), now))


# ------------------------------------------------------------------ sessions

def create_session(uow, session_id: str, person: Person, csrf_token: str, id_token: str | None, now) -> None:
    uow.execute("INSERT INTO workbench.sessions (id_hash, sub, display_name, email, home, domain, roles, unit, "
                "csrf_token, id_token, created_at, last_seen_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (digest(session_id), person.sub, person.display_name, person.email, person.home, person.domain,
                 list(person.roles), person.unit, csrf_token, id_token, now, now)).close()
    uow.execute("INSERT INTO workbench.persons (sub, display_name, email, home, roles, unit, last_sign_in) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (sub) DO UPDATE SET "
                "display_name = EXCLUDED.display_name, email = EXCLUDED.email, home = EXCLUDED.home, "
                "roles = EXCLUDED.roles, unit = EXCLUDED.unit, last_sign_in = EXCLUDED.last_sign_in",
                (person.sub, person.display_name, person.email, person.home, list(person.roles), person.unit,
                 now)).close()


def get_session(uow, session_id: str) -> dict | None:
    return uow.fetchone("SELECT * FROM workbench.sessions WHERE id_hash = %s FOR UPDATE", (digest(session_id),))


def touch(uow, session_id: str, now) -> None:
    uow.execute("UPDATE workbench.sessions SET last_seen_at = %s WHERE id_hash = %s",
                (now, digest(session_id))).close()


def end_session(uow, session_id: str) -> dict | None:
    return uow.fetchone("DELETE FROM workbench.sessions WHERE id_hash = %s RETURNING domain, id_token, sub",
                        (digest(session_id),))


def prune(uow, idle_before, created_before) -> int:
    cur = uow.execute("DELETE FROM workbench.sessions WHERE last_seen_at < %s OR created_at < %s",
                      (idle_before, created_before))
    count = cur.rowcount
    cur.close()
    return count


def person_of(row: dict) -> Person:
    return Person(sub=row["sub"], display_name=row["display_name"], email=row["email"], home=row["home"],
                  domain=row["domain"], roles=tuple(row["roles"]), unit=row["unit"])


# ------------------------------------------------------------------ colleagues

def colleagues(uow, home: str, roles=("staff", "coordinator")) -> list[dict]:
    """People of one municipality (or the region) who signed in before, with one of `roles`."""
    return uow.fetchall("SELECT sub, display_name, roles FROM workbench.persons WHERE home = %s AND roles && %s "
                        "ORDER BY display_name", (home, list(roles)))


def person(uow, sub: str) -> dict | None:
    return uow.fetchone("SELECT sub, display_name, email, home, roles FROM workbench.persons WHERE sub = %s", (sub,))
