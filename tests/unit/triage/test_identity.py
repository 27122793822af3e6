"""Perpetrator identifiers: normalised, then keyed hashes; the same person matches, nothing readable remains."""
from __future__ import annotations

from services.triage import identity

SECRET = b"unit-test-region-secret-0123456789abcdef"


def test_spelling_variants_give_the_same_key():
    a = identity.keys_of(SECRET, [{"name": "Kees Bakker", "birth_date": "1975-04-12"}], None)
    b = identity.keys_of(SECRET, [{"name": "  BAKKER,  kées ", "birth_date": "1975-04-12"}], None)
    assert a["perpetrator"] == b["perpetrator"] and len(a["perpetrator"]) == 1


def test_phone_handle_and_plate_normalise():
    assert identity.phone("06-12 34 56 78") == identity.phone("+31 6 12345678") == identity.phone("0031612345678")
    assert identity.online_handle("@Boze_Burger") == identity.online_handle("boze burger")
    assert identity.licence_plate("12-ABC-3") == identity.licence_plate("12abc3")


def test_name_without_birth_date_is_not_an_identifier():
    assert identity.perpetrator_identifiers({"name": "Kees Bakker"}) == set()


def test_different_secret_different_key_and_no_name_inside():
    ident = identity.name_with_birth_date("Kees Bakker", "1975-04-12")
    key = identity.keyed_hash(SECRET, ident)
    assert key != identity.keyed_hash(b"another-region-secret-0123456789abcdef", ident)
    assert len(key) == 32 and b"bakker" not in key.lower()


def test_victims_are_keyed_by_contact_details():
    keys = identity.keys_of(SECRET, [], {"name": "Sanne Jansen", "email": "S.Jansen@Example.nl"})
    assert keys["victim"] == identity.keys_of(SECRET, [], {"email": "s.jansen@example.nl"})["victim"]
