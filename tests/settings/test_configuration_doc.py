"""docs/configuration.md lists every PIIQ_* setting, generated from the Settings object."""

from __future__ import annotations

from pathlib import Path

import pytest

from piiq.runtime.settings import Settings, configuration_markdown

DOC = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_configuration_doc_is_generated_from_settings() -> None:
    assert DOC.read_text() == configuration_markdown(), (
        "docs/configuration.md is stale: run `python -m piiq.runtime.settings > docs/configuration.md`"
    )


def test_every_setting_is_described() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no description"


def test_phone_regions_accept_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIIQ_PHONE_REGIONS", "us, gb,DE")
    assert Settings().phone_regions == ["US", "GB", "DE"]
