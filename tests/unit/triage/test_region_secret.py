"""The region secret has no default: triage needs MELDPUNT_REGION_SECRET or a secret file."""
from __future__ import annotations

import dataclasses

import pytest

from services.triage.options import region_secret
from shared.config import ConfigError
from hub.registry import load_settings


def settings_with(env=None, secret_file=None):
    settings = load_settings(env or {})
    if secret_file:
        options = {**settings.region.options, "triage": {**settings.region.options["triage"],
                                                         "region_secret_file": str(secret_file)}}
        settings = dataclasses.replace(settings, region=dataclasses.replace(settings.region, options=options))
    return settings


def test_missing_secret_is_a_clear_error():
    with pytest.raises(ConfigError, match="MELDPUNT_REGION_SECRET is not set"):
        region_secret(settings_with())


def test_short_secret_is_refused_by_the_settings():
    with pytest.raises(ConfigError, match="MELDPUNT_REGION_SECRET: must be at least 32"):
        load_settings({"MELDPUNT_REGION_SECRET": "kort"})


def test_secret_from_env_or_file(tmp_path):
    assert region_secret(settings_with({"MELDPUNT_REGION_SECRET": "x" * 32})) == b"x" * 32
    path = tmp_path / "secret"
    path.write_text("y" * 40 + "\n")
    assert region_secret(settings_with(secret_file=path)) == b"y" * 40
    path.write_text("kort")
    with pytest.raises(ConfigError, match="at least 32"):
        region_secret(settings_with(secret_file=path))


def test_secret_is_not_in_the_settings_repr():
    assert "geheim" not in repr(load_settings({"MELDPUNT_REGION_SECRET": "geheim" * 6}))
