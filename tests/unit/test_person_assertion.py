"""People through the workbench: the person assertion and the Principal it becomes (shared/auth.py)."""
import time

import pytest

from shared import assertion, auth
from shared.config import Municipality, Region

SECRET = b"a region secret of at least thirty-two characters"
REGION = Region("VR19", "Zeeland", "postgresql://x/s", (
    Municipality("GM0687", "Middelburg", "postgresql://x/a", "zwb-walcheren"),
    Municipality("GM0718", "Vlissingen", "postgresql://x/b", "zwb-walcheren", conflicts_to="GM0664"),
    Municipality("GM0664", "Goes", "postgresql://x/c", "zwb-de-bevelanden")))


def token(audience="intake", **claims):
    values = dict(sub="GM0687/cora", name="Cora de Wit", municipality="GM0687", roles=["coordinator"], unit=None,
                  session="abc", email="Cora@Middelburg.example")
    values.update(claims)
    return assertion.issue(SECRET, audience, **values)


def principal(tok, audience="intake", now=None):
    return auth.person_principal(tok, REGION, auth.PersonCheck(SECRET, audience, now=now))


def test_an_assertion_becomes_a_person_principal_named_in_the_audit_log():
    p = principal(token())
    assert (p.kind, p.municipality, p.home, p.role) == ("person", "GM0687", "GM0687", "coordinator")
    assert p.actor == "person:GM0687/cora (Cora de Wit, coordinator)"
    assert p.rate_key == "person:GM0687/cora"
    # the exclusion list matches the subject and the e-mail address (any case), never in the clear
    assert set(assertion.identity_hashes(SECRET, "GM0687/cora", "cora@middelburg.example")) == p.identities
    assert assertion.email_hash(SECRET, "CORA@middelburg.example") in p.identities


@pytest.mark.parametrize("tamper", ["audience", "secret", "expired", "too_long", "machine_role"])
def test_a_wrong_assertion_is_refused(tamper):
    if tamper == "audience":
        tok = token(audience="aftercare")
    elif tamper == "secret":
        tok = assertion.issue(b"another secret of at least thirty-two characters!", "intake", sub="x", name="x",
                              municipality="GM0687", roles=["coordinator"], unit=None, session="s")
    elif tamper == "expired":
        tok = token(now=time.time() - 120)
    elif tamper == "too_long":
        with pytest.raises(ValueError):
            token(lifetime=3600)
        return
    else:
        tok = token(roles=["intake_channel"])
    with pytest.raises(auth.Unauthorized):
        principal(tok)


def test_an_api_key_header_is_still_a_key():
    with pytest.raises(auth.Unauthorized, match="unknown API key"):
        auth.authenticate("Bearer GM0687.abc", REGION, None, auth.PersonCheck(SECRET, "intake"))


def test_where_a_person_may_act():
    # their own municipality; not another
    assert principal(token(act_in="GM0687")).municipality == "GM0687"
    with pytest.raises(auth.Forbidden):
        principal(token(act_in="GM0664"))
    # a police liaison: the municipalities of their unit
    liaison = token(roles=["police_liaison"], unit="zwb-walcheren", act_in="GM0718")
    assert principal(liaison).municipality == "GM0718"
    with pytest.raises(auth.Forbidden):
        principal(token(roles=["police_liaison"], unit="zwb-walcheren", act_in="GM0664"))
    # the region's people anywhere in the region; a second meldpunt where the region file routes to it
    assert principal(token(municipality="region", act_in="GM0664")).municipality == "GM0664"
    assert principal(token(municipality="GM0664", act_in="GM0718")).municipality == "GM0718"


def test_the_same_permissions_decide_for_people_and_keys():
    person = principal(token(roles=["aftercare_worker"]))
    auth.authorize(person, "aftercare:read")
    with pytest.raises(auth.Forbidden, match="a person with role aftercare_worker lacks the permission case:work"):
        auth.authorize(person, "case:work")


def test_case_visibility_is_one_rule_for_keys_and_people():
    key = auth.Principal("GM0687", "staff", "k1", "script")
    assert auth.case_visibility(key) == ("NOT EXISTS (SELECT 1 FROM hub.case_access a WHERE a.case_id = i.case_id "
                                         "AND a.handled_by <> %s)", ["GM0687"])
    person = principal(token())
    condition, params = auth.case_visibility(person)
    assert "hub.case_exclusions" in condition and params[0] == sorted(person.identities)
    regional = principal(token(municipality="region", act_in="GM0687"))
    condition, params = auth.case_visibility(regional)
    assert "a.handled_by = %s" in condition and params[-1] == "region"
    # numbers for the regional view: only the exclusions count
    condition, params = auth.case_visibility(regional, counting=True)
    assert "case_access" not in condition


def test_an_excluded_person_counts_no_case_they_are_excluded_from():
    """The regional view's numbers (`counting`) drop the routing, never the exclusions: a person named on a
    case's exclusion list finds it in no count, the region's coordinator included."""
    regional = principal(token(sub="region/ruud", municipality="region", act_in="GM0687", roles=["coordinator"],
                               email="ruud@regio.example"))
    condition, params = auth.case_visibility(regional, "c.case_id", counting=True)
    assert condition == ("NOT EXISTS (SELECT 1 FROM hub.case_exclusions x WHERE x.case_id = c.case_id "
                         "AND x.identity = ANY(%s))")
    assert params == [sorted(regional.identities)] and len(regional.identities) == 2  # sub and e-mail, keyed
