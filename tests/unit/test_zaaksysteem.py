"""The zaaksysteem room's plain parts (issue 24, item 5): its region options, the JWT the ZGW APIs require,
which step an event asks of the zaak, and a zaak that carries the case reference and nothing else by default."""
from __future__ import annotations

import uuid

import jwt
import pytest
from marshmallow import ValidationError

from services.zaaksysteem import domain, options as zs_options
from services.zaaksysteem.options import OptionsSchema
from services.zaaksysteem.zgw import token

CATALOGI = "https://catalogi.example/api/v1"
GOOD = {"enabled": True, "zaken_api": "https://zaken.example/api/v1", "rsin": "002220647",
        "zaaktype": f"{CATALOGI}/zaaktypen/1",
        "statustypen": {s: f"{CATALOGI}/statustypen/{s}" for s in zs_options.STAGES},
        "resultaattypen": {o: f"{CATALOGI}/resultaattypen/{o}" for o in zs_options.OUTCOMES},
        "client_id": "meldpunt-hub", "secret": {"env": "ZGW_SECRET"}}


def test_off_unless_a_municipality_turns_it_on():
    assert zs_options.of(zs_options.DEFAULTS, "GM0687") is None
    assert zs_options.of(OptionsSchema().load({"municipalities": {"GM0687": {**GOOD, "enabled": False}}}), "GM0687") is None
    loaded = OptionsSchema().load({"municipalities": {"GM0687": GOOD}})
    mine = zs_options.of(loaded, "GM0687")
    assert mine["vertrouwelijkheidaanduiding"] == "zeer_geheim" and mine["shared_fields"] == []


@pytest.mark.parametrize("change, field", [
    ({"rsin": "12345"}, "rsin"),
    ({"statustypen": {"ontvangen": f"{CATALOGI}/statustypen/o"}}, "statustypen"),
    ({"vertrouwelijkheidaanduiding": "topgeheim"}, "vertrouwelijkheidaanduiding"),
    ({"shared_fields": ["naam"]}, "shared_fields"),
    ({"secret": {"env": "A", "file": "/b"}}, "secret"),
])
def test_a_wrong_section_is_refused_with_the_field(change, field):
    with pytest.raises(ValidationError) as refused:
        OptionsSchema().load({"municipalities": {"GM0687": {**GOOD, **change}}})
    assert field in refused.value.messages["municipalities"]["GM0687"]["value"]


def test_a_municipality_outside_the_region_is_refused():
    with pytest.raises(ValidationError):
        OptionsSchema.check_region(OptionsSchema().load({"municipalities": {"GM0687": GOOD}}), ["GM0718"])


def test_the_jwt_is_hs256_over_the_client_id_with_its_secret():
    claims = jwt.decode(token("meldpunt-hub", "s3cret", now=1_700_000_000), "s3cret", algorithms=["HS256"])
    assert claims["iss"] == claims["client_id"] == "meldpunt-hub" and claims["iat"] == 1_700_000_000
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token("meldpunt-hub", "s3cret"), "other", algorithms=["HS256"])


def test_each_event_asks_one_step_and_the_end_has_its_outcome():
    assert domain.step_of("incident_reported") == ("aanmaken", None)
    assert domain.step_of("triage_overridden") == ("beoordeeld", None)
    assert domain.step_of("incident_withdrawn") == ("afsluiten", "ingetrokken")
    assert domain.step_of("referral_created") is None


def test_a_zaak_carries_the_case_reference_and_no_case_details_unless_allowed():
    case_id = uuid.uuid4()
    config = OptionsSchema().load({"municipalities": {"GM0687": GOOD}})["municipalities"]["GM0687"]
    payload = {"occurred_at": "2026-12-05T22:10:00+00:00", "reported_categories": ["bedreiging"]}
    body = domain.zaak(case_id, config, "2026-12-06", domain.shared_values(payload, config["shared_fields"]))
    assert body["identificatie"] == str(case_id) and body["bronorganisatie"] == body["verantwoordelijkeOrganisatie"]
    assert body["vertrouwelijkheidaanduiding"] == "zeer_geheim" and "toelichting" not in body
    allowed = domain.shared_values(payload, ["categories"])
    assert allowed == {"categories": ["bedreiging"]}
    assert "bedreiging" in domain.zaak(case_id, config, "2026-12-06", allowed)["toelichting"]


def test_backoff_doubles_up_to_its_limit():
    assert [domain.backoff(n, 5, 30) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]
