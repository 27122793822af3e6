"""services/police_liaison/options.py: the `police_liaison:` region options, validated at load."""
from __future__ import annotations

import pytest

from services.police_liaison.options import options_of, webhook_secret
from hub.registry import load_region
from tests.unit.test_config import config_error, region_doc, write_region

HOOK = {"url": "https://politie.example.nl/hook", "secret_env": "WALCHEREN_SECRET"}


def test_options_load_with_defaults(tmp_path):
    doc = {**region_doc(), "police_liaison": {
        "contacts": {"GM0687": {"name": "Meldpunt Middelburg", "phone": "0118 675 000"}},
        "webhooks": {"zwb-walcheren": HOOK}}}
    options = load_region(write_region(tmp_path, doc), environ={}).options["police_liaison"]

    assert options["acute_accept_minutes"] == 60 and options["accept_working_days"] == 1
    assert options["contacts"]["GM0687"]["role"] == "contactpersoon meldpunt"
    assert options["webhooks"]["zwb-walcheren"]["max_attempts"] == 8


@pytest.mark.parametrize("section,expected", [
    ({"webhooks": {"zwb-walcheren": {"url": "https://x.example.nl/h"}}}, "secret_env"),
    ({"webhooks": {"zwb-walcheren": {**HOOK, "secret_file": "/run/s"}}}, "secret_env"),
    ({"webhooks": {"Walcheren!": HOOK}}, "webhooks"),
    ({"contacts": {"Middelburg": {"name": "x"}}}, "contacts"),
    ({"acute_accept_minutes": 0}, "acute_accept_minutes"),
])
def test_bad_options_are_one_clear_line(tmp_path, section, expected):
    message = config_error(write_region(tmp_path, {**region_doc(), "police_liaison": section}))
    assert "police_liaison" in message and expected in message


def test_defaults_without_a_section(tmp_path):
    class S:
        region = load_region(write_region(tmp_path, region_doc()), environ={})
    assert options_of(S)["webhooks"] == {} and options_of(S)["acute_accept_minutes"] == 60


def test_webhook_secret_from_env_or_file(tmp_path):
    assert webhook_secret({"secret_env": "S", "secret_file": None}, {"S": "abc"}) == b"abc"
    with pytest.raises(LookupError, match="S"):
        webhook_secret({"secret_env": "S", "secret_file": None}, {})
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    assert webhook_secret({"secret_env": None, "secret_file": str(secret)}, {}) == b"from-file"


def test_the_ela_checklist_is_the_regions_versioned_file(tmp_path):
    """Every item of deploy/ela/ela.yaml with its meaning is loaded with the region; a region names its own copy
    (a new version, one more item); a copy without one of the five items the hub sets itself, or with a code
    twice, is refused in one line naming ela_file."""
    import yaml
    from services.police_liaison import ela
    options = load_region(write_region(tmp_path, region_doc()), environ={}).options.get("police_liaison")
    checklist = (options or {}).get("ela") or ela.load(ela.DEFAULT_FILE)
    codes = [item["code"] for item in checklist["items"]]
    assert checklist["version"] == "ela-2026-12" and all(item["meaning"] for item in checklist["items"])
    assert {"vpt_registered", "priority_handling", "employer_injured_party", "claim_damages", "snelrecht",
            "feedback_victim", "feedback_employer", "strafeis_200"} <= set(codes)
    own = yaml.safe_load(ela.DEFAULT_FILE.read_text())
    own["version"], own["items"] = "vr19-2027-01", own["items"] + [
        {"code": "camerabeelden", "label": "Camerabeelden veiliggesteld", "meaning": "The employer kept the footage."}]
    (tmp_path / "own-ela.yaml").write_text(yaml.safe_dump(own))
    loaded = load_region(write_region(tmp_path, {**region_doc(), "police_liaison": {
        "ela_file": str(tmp_path / "own-ela.yaml")}}), environ={}).options["police_liaison"]["ela"]
    assert loaded["version"] == "vr19-2027-01" and loaded["items"][-1]["code"] == "camerabeelden"
    for broken in ({**own, "items": [i for i in own["items"] if i["code"] != "vpt_registered"]},
                   {**own, "items": own["items"] + own["items"][:1]}):
        (tmp_path / "broken-ela.yaml").write_text(yaml.safe_dump(broken))
        message = config_error(write_region(tmp_path, {**region_doc(), "police_liaison": {
            "ela_file": str(tmp_path / "broken-ela.yaml")}}))
        assert "ela_file" in message
