"""Slack markup is resolved before analysis and every offset maps back to the original."""

from __future__ import annotations

import pytest

from piiq.detect import Detector, Source
from piiq.detect.markup import clean_slack_markup


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("mail <mailto:a@b.io|a@b.io> now", "mail a@b.io now"),
        ("call <tel:+12125550147|+1 212 555 0147>", "call +1 212 555 0147"),
        ("see <https://x.io/a|the doc> and <https://y.io>", "see the doc and https://y.io"),
        ("hi <@U123ABC> in <#C42|general>", "hi @user in #general"),
        ("<!here> &lt;b&gt; &amp; co", "@here <b> & co"),
        ("plain text", "plain text"),
        ("", ""),
    ],
)
def test_markup_to_readable_text(raw: str, clean: str) -> None:
    assert clean_slack_markup(raw).text == clean


def test_offsets_map_back_exactly_where_characters_survive() -> None:
    raw = "x <mailto:jane@acme.io|jane@acme.io> y"
    cleaned = clean_slack_markup(raw)
    start = cleaned.text.index("jane@acme.io")
    o_start, o_end = cleaned.to_original(start, start + len("jane@acme.io"))
    assert raw[o_start:o_end] == "jane@acme.io"
    assert o_start == raw.index("|") + 1  # the visible label, not the link target


def test_offsets_of_replaced_tokens_cover_the_whole_token() -> None:
    raw = "a &amp; b <@U1> c"
    cleaned = clean_slack_markup(raw)
    start = cleaned.text.index("@user")
    assert cleaned.to_original(start, start + 5) == (raw.index("<@U1>"), raw.index("<@U1>") + 5)


def test_findings_point_into_the_original_message(detector: Detector) -> None:
    raw = "&lt;&lt; <@U9ZZ> card: 5105 1051 0510 5100, <mailto:jane.doe@acme.io|jane.doe@acme.io>"
    result = detector.scan([Source("text", raw)])
    values = {raw[f.start : f.end] for f in result.findings}
    assert values == {"5105 1051 0510 5100", "jane.doe@acme.io"}
    assert len(result.findings) == 2  # the mailto link counts once, not twice
