"""`piiq allow-list list | remove`: entries as an admin's "Mark false positive" writes them
(the review store), shown by hash prefix and never by value, removed by id so the value is
flagged again, and one line for each bad input."""

from __future__ import annotations

import json

import pytest

from piiq.queue import Client
from piiq.slack import review_store
from tests.support.piiq_cli import one_line_error, run_piiq

HASH_A = "k1:" + "a1" * 32
HASH_B = "k1:" + "b2" * 32


@pytest.fixture
def allowed(slack_client: Client) -> None:
    """Two entries in workspace T0ACME (review item 7) and one in T0OTHER (item 9)."""
    items = [
        ("T0ACME", 7, [{"type": "CREDIT_CARD", "hash": HASH_A}, {"type": "US_SSN", "hash": HASH_B}]),
        ("T0OTHER", 9, [{"type": "EMAIL_ADDRESS", "hash": HASH_A}]),
    ]  # fmt: skip
    with slack_client.connection() as conn:
        for team, item_id, hashes in items:
            item = {"team": team, "id": item_id, "value_hashes": hashes}
            review_store.allow(conn, slack_client.prefix, item, "U0ADMIN")


def listed(env: dict, *options: str) -> list[dict]:
    result = run_piiq("allow-list", "list", "--json", *options, **env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_list_shows_who_when_and_which_item_never_a_whole_hash(
    allowed: None, subprocess_env: dict
) -> None:
    entries = listed(subprocess_env)
    assert [(e["team"], e["entity_type"], e["item_id"], e["added_by"]) for e in entries] == [
        ("T0ACME", "CREDIT_CARD", 7, "U0ADMIN"),
        ("T0ACME", "US_SSN", 7, "U0ADMIN"),
        ("T0OTHER", "EMAIL_ADDRESS", 9, "U0ADMIN"),
    ]
    assert all(e["value_hash"].startswith("k1:") and HASH_A not in e["value_hash"] for e in entries)
    assert [e["team"] for e in listed(subprocess_env, "--team", "T0OTHER")] == ["T0OTHER"]
    table = run_piiq("allow-list", "list", "--team", "T0ACME", **subprocess_env)
    assert table.returncode == 0, table.stderr
    assert "CREDIT_CARD" in table.stdout and "U0ADMIN" in table.stdout
    assert "T0OTHER" not in table.stdout and HASH_A not in table.stdout


def test_remove_takes_one_entry_out_of_its_workspace_only(
    allowed: None, subprocess_env: dict, slack_client: Client
) -> None:
    card = next(e for e in listed(subprocess_env) if e["entity_type"] == "CREDIT_CARD")
    result = run_piiq("allow-list", "remove", str(card["id"]), **subprocess_env)
    assert result.returncode == 0, result.stderr
    assert f"removed allow-list entry {card['id']}" in result.stdout
    with slack_client.connection() as conn:
        assert review_store.allowed_hashes(conn, slack_client.prefix, "T0ACME") == {HASH_B}
        assert review_store.allowed_hashes(conn, slack_client.prefix, "T0OTHER") == {HASH_A}
    again = one_line_error(run_piiq("allow-list", "remove", str(card["id"]), **subprocess_env))
    assert again == (
        f"Error: no allow-list entry {card['id']} in {slack_client.prefix}: "
        "`piiq allow-list list` shows the ids"
    )


@pytest.mark.parametrize("bad", ["abc", "0", "-3"])
def test_an_id_that_is_not_one_is_named(
    bad: str, slack_client: Client, subprocess_env: dict
) -> None:
    line = one_line_error(run_piiq("allow-list", "remove", "--", bad, **subprocess_env), 2)
    assert "ID" in line and bad in line


def test_an_empty_list_says_where_entries_come_from(
    slack_client: Client, subprocess_env: dict
) -> None:
    result = run_piiq("allow-list", "list", **subprocess_env)
    assert result.returncode == 0, result.stderr
    assert "Mark false positive" in result.stdout
