"""Allow-list hashes: keyed, normalised, never the value."""

from __future__ import annotations

from piiq.detect import Policy
from piiq.detect.valuehash import value_hash

KEY, OTHER_KEY = b"k" * 32, b"o" * 32


def test_the_same_value_written_differently_hashes_alike_under_one_key() -> None:
    forms = ["4556 7375 8689 9855", "4556-7375-8689-9855", "4556737586899855"]
    assert len({value_hash(form, "k1", KEY) for form in forms}) == 1
    assert value_hash("Maria@Acme.com", "k1", KEY) == value_hash("maria@acme.com", "k1", KEY)
    assert value_hash(forms[0], "k1", KEY) != value_hash(forms[0], "k1", OTHER_KEY)
    digest = value_hash(forms[0], "k1", KEY)
    assert digest.startswith("k1:") and "4556" not in digest and len(digest) == 3 + 64


def test_a_policy_allows_values_by_hash_under_the_keys_it_is_given() -> None:
    allowed = {value_hash("536-22-1474", "old", OTHER_KEY)}
    policy = Policy.default().with_allowed_hashes(allowed, [("new", KEY), ("old", OTHER_KEY)])
    assert policy.allowed("536 22 1474") and not policy.allowed("536-22-1475")
    assert not Policy.default().with_allowed_hashes(allowed, [("new", KEY)]).allowed("536-22-1474")
