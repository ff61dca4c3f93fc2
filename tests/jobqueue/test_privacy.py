"""No plaintext left behind: scrubbing on every move to a final state, whoever makes it,
and vacuum settings so superseded row versions do not keep the text for days."""

from __future__ import annotations

import psycopg

from piiq.queue import Client, Worker, migrate_up
from tests.support.queue_helpers import load

from .test_maintenance import sql
from .test_schema import oban_only_migrate

TEXT = "my SSN is 078-05-1120"


class Sensitive(Worker):
    queue = "privacy"
    sensitive_args = ("text",)


def test_final_moves_made_outside_piiq_scrub_the_sensitive_args(queue_client: Client) -> None:
    """What Oban Web, Elixir Oban or an operator's SQL do: plain UPDATEs and INSERTs."""
    cancel, discard, complete, retry = (
        queue_client.insert(Sensitive.new({"text": TEXT, "channel": "C1"})).id for _ in range(4)
    )
    sql(
        queue_client,
        "UPDATE {p}.oban_jobs SET state = 'cancelled', cancelled_at = timezone('UTC', now()) "
        "WHERE id = %s",
        (cancel,),
    )
    sql(queue_client, "UPDATE {p}.oban_jobs SET state = 'discarded' WHERE id = %s", (discard,))
    sql(queue_client, "UPDATE {p}.oban_jobs SET state = 'completed' WHERE id = %s", (complete,))
    sql(queue_client, "UPDATE {p}.oban_jobs SET state = 'retryable' WHERE id = %s", (retry,))
    (inserted,) = sql(
        queue_client,
        "INSERT INTO {p}.oban_jobs (worker, args, meta, state) "
        "VALUES ('app.W', %s, '{\"scrub\": [\"text\"]}', 'completed') RETURNING id",
        (psycopg.types.json.Jsonb({"text": TEXT}),),
    )[0]
    for job_id in (cancel, discard, complete):
        assert load(queue_client, job_id).args == {"text": "scrubbed", "channel": "C1"}
    assert load(queue_client, inserted).args == {"text": "scrubbed"}
    assert load(queue_client, retry).args["text"] == TEXT  # not final: the retry needs it
    # a final row whose args are written again (an edit in a dashboard) stays scrubbed
    sql(
        queue_client,
        "UPDATE {p}.oban_jobs SET args = args || %s WHERE id = %s",
        (psycopg.types.json.Jsonb({"text": TEXT}), complete),
    )
    assert load(queue_client, complete).args["text"] == "scrubbed"


def test_jobs_without_a_scrub_list_are_left_alone(queue_client: Client) -> None:
    plain, odd = (
        sql(
            queue_client,
            "INSERT INTO {p}.oban_jobs (worker, args, meta) VALUES ('MyApp.Worker', %s, %s) "
            "RETURNING id",
            (psycopg.types.json.Jsonb({"text": TEXT}), psycopg.types.json.Jsonb(meta)),
        )[0][0]
        for meta in ({}, {"scrub": "text"})  # not a list: ignored, and no error
    )
    sql(
        queue_client,
        "UPDATE {p}.oban_jobs SET state = 'completed' WHERE id = ANY(%s)",
        ([plain, odd],),
    )
    assert load(queue_client, plain).args == {"text": TEXT}
    assert load(queue_client, odd).args == {"text": TEXT}


def test_a_database_migrated_by_elixir_oban_keeps_working(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        oban_only_migrate(conn, "public", 12)
        elixir = conn.execute(
            "INSERT INTO oban_jobs (worker, args, tags) VALUES "
            "('MyApp.Mailer', '{\"to\": \"a@example.com\"}', '{mail}') RETURNING id"
        ).fetchone()[0]
        migrate_up(conn)
        # Oban's own cancel and complete statements, as Ecto sends them
        conn.execute(
            "UPDATE oban_jobs SET state = 'cancelled', cancelled_at = %s WHERE id = %s",
            ("2026-12-01 10:00:00", elixir),
            prepare=True,
        )
        row = conn.execute(
            "SELECT state::text, args, tags FROM oban_jobs WHERE id = %s", (elixir,)
        ).fetchone()
    assert row == ("cancelled", {"to": "a@example.com"}, ["mail"])


def test_oban_jobs_is_vacuumed_early(queue_client: Client) -> None:
    (table, toast) = sql(
        queue_client,
        "SELECT c.reloptions, t.reloptions FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace LEFT JOIN pg_class t ON t.oid = c.reltoastrelid "
        "WHERE n.nspname = %s AND c.relname = 'oban_jobs'",
        (queue_client.prefix,),
    )[0]
    assert "autovacuum_vacuum_scale_factor=0.01" in table
    assert "autovacuum_vacuum_cost_delay=0" in table
    assert "autovacuum_vacuum_scale_factor=0.01" in toast


def test_vacuum_leaves_no_row_version_holding_the_text(fresh_database: str) -> None:
    """Why the settings matter: the scrub is an UPDATE, the superseded row versions keep
    the text until VACUUM removes them (pageinspect reads the table's pages)."""
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        migrate_up(conn)
        conn.execute("CREATE EXTENSION pageinspect")
        conn.execute("ALTER TABLE oban_jobs SET (autovacuum_enabled = false)")
        client = Client(fresh_database, testing="manual")
        try:
            job_id = client.insert(Sensitive.new({"text": TEXT})).id
        finally:
            client.close()
        conn.execute(
            "UPDATE oban_jobs SET state = 'executing', attempt = 1 WHERE id = %s", (job_id,)
        )
        conn.execute("UPDATE oban_jobs SET state = 'completed' WHERE id = %s", (job_id,))
        versions = (
            "SELECT count(*) FROM heap_page_items(get_raw_page('oban_jobs', 0)) "
            "WHERE position(convert_to(%s, 'UTF8') in t_data) > 0"
        )
        assert conn.execute(versions, ("078-05-1120",)).fetchone()[0] == 2
        conn.execute("VACUUM oban_jobs")
        assert conn.execute(versions, ("078-05-1120",)).fetchone()[0] == 0
        current = conn.execute("SELECT args FROM oban_jobs WHERE id = %s", (job_id,)).fetchone()
    assert current[0] == {"text": "scrubbed"}
