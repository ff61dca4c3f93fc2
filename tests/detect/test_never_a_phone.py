"""Digits of engineering chat that are never a phone, bank or NHS number."""

from __future__ import annotations

import pytest

from piiq.detect import Detector, Source

DIGIT_TYPES = {"PHONE_NUMBER", "US_BANK_NUMBER", "UK_NHS", "US_PASSPORT"}


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("IPv4", "call the db at 10.42.0.17 if it hangs"),
        ("IPv4 with port", "phone home to 192.168.100.200:8443 failed"),
        ("IPv4 prefix", "allow 172.16.254.1/24 in the firewall"),
        ("IPv6", "call fe80::1ff:fe23:4567:890a from the node"),
        ("IPv6 with port", "reach [2001:db8::8a2e:370:7334]:8080 from staging"),
        ("timestamp", "the call at 2024-05-01 17:25:13.080459 timed out"),
        ("date", "call planned for 01/05/2024, moved to 2024-05-14"),
        ("compact date", "call moved to 20240501"),
        ("version", "phone app 2.31.0 and 3.11.7 and v10.42.1234"),
        ("duration", "the call took 1500ms then 2025550147 ns"),
        ("port", "reach the service on port 54321 or :8080"),
        ("cloud account ID", "AWS account 123456789012 in us-east-1"),
        ("cloud account ID arn", "arn:aws:iam::123456789012:role/deploy"),
        ("build number", "build 2025550147 failed, rerun"),
        ("ticket number", "ticket #2025550147 and PROJ-2025550 and issue 2125550147"),
        ("commit hash", "reverted 4f9a2c17b3e8d6 and a3f9c2d1e0b4"),
        ("UUID", "call 12345678-1234-1234-1234-123456789012 again"),
        ("byte count", "wrote 2147483648 bytes (2 GiB), 10,485,760 rows"),
        ("epoch", "started=1714580713 ts 1714580713.080459"),
        ("decimal", "p99 was 16900.540 ms"),
        ("key=value", "svmem(total=10367352832, available=6472179712)"),
        ("fraction", "76% | 7568/10000 items"),
    ],
)
def test_never_a_phone_bank_or_nhs_number(detector: Detector, kind: str, text: str) -> None:
    result = detector.scan([Source("text", text)])
    assert result.decision.action == "allow", (kind, result.findings)
    assert "PHONE_NUMBER" not in {f.entity_type for f in result.findings}, kind
    acted = {f.entity_type for f in result.findings if f.action != "ignore"}
    assert not acted & DIGIT_TYPES, kind


@pytest.mark.parametrize(
    "text",
    ["account 4402718365", "bank 440271836512", "id 44027183651234"],
)
def test_bare_digit_runs_are_not_bank_numbers_without_bank_context(
    detector: Detector, text: str
) -> None:
    assert detector.scan([Source("text", text.split()[1])]).decision.action == "allow"
    result = detector.scan([Source("text", text)])
    expected = "allow" if text.startswith("id") else "delete"
    assert result.decision.action == expected, result.findings


def test_a_phone_number_next_to_an_ip_is_still_found(detector: Detector) -> None:
    text = "node 10.42.0.17 is down, call me on 020 7946 0958"
    result = detector.scan([Source("text", text)])
    assert [text[f.start : f.end] for f in result.findings] == ["020 7946 0958"]
