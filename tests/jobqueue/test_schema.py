"""The schema is Oban's v12, migrations go up, down and recognise Oban's own databases."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner

from piiq.cli import main
from piiq.queue import OBAN_VERSION, MigrationError, load_sql, migrate_down, migrate_up
from piiq.queue._migrations import current_version

# What Elixir Oban's Oban.Migration.up(version: 12) creates, as PostgreSQL reports it:
# (type, NOT NULL, default). From Oban's lib/oban/migrations/postgres/v01..v12.ex: Ecto's
# :map is jsonb, {:array, :map} jsonb[], :utc_datetime_usec timestamp, {:array, :text}
# text[] (V03 attempted_by, V08 tags).
OBAN_V12_COLUMNS = {
    "id": ("bigint", True, "nextval('oban_jobs_id_seq'::regclass)"),
    "state": ("oban_job_state", True, "'available'::oban_job_state"),
    "queue": ("text", True, "'default'::text"),
    "worker": ("text", True, None),
    "args": ("jsonb", True, "'{}'::jsonb"),
    "errors": ("jsonb[]", True, "ARRAY[]::jsonb[]"),
    "attempt": ("integer", True, "0"),
    "max_attempts": ("integer", True, "20"),
    "inserted_at": ("timestamp without time zone", True, "timezone('UTC'::text, now())"),
    "scheduled_at": ("timestamp without time zone", True, "timezone('UTC'::text, now())"),
    "attempted_at": ("timestamp without time zone", False, None),
    "completed_at": ("timestamp without time zone", False, None),
    "attempted_by": ("text[]", False, None),
    "discarded_at": ("timestamp without time zone", False, None),
    "priority": ("integer", True, "0"),
    "tags": ("text[]", False, "ARRAY[]::text[]"),
    "meta": ("jsonb", False, "'{}'::jsonb"),
    "cancelled_at": ("timestamp without time zone", False, None),
}
# name -> (definition, validated); V12 adds non_negative_priority NOT VALID.
OBAN_V12_CONSTRAINTS = {
    "attempt_range": ("CHECK (((attempt >= 0) AND (attempt <= max_attempts)))", True),
    "non_negative_priority": ("CHECK ((priority >= 0)) NOT VALID", False),
    "oban_jobs_pkey": ("PRIMARY KEY (id)", True),
    "positive_max_attempts": ("CHECK ((max_attempts > 0))", True),
    "queue_length": ("CHECK (((char_length(queue) > 0) AND (char_length(queue) < 128)))", True),
    "worker_length": ("CHECK (((char_length(worker) > 0) AND (char_length(worker) < 128)))", True),
}
# name -> definition after "ON <schema>.oban_jobs USING "
OBAN_V12_INDEX_DEFS = {
    "oban_jobs_pkey": "btree (id)",
    "oban_jobs_args_index": "gin (args)",
    "oban_jobs_meta_index": "gin (meta)",
    "oban_jobs_state_queue_priority_scheduled_at_id_index": (
        "btree (state, queue, priority, scheduled_at, id)"
    ),
}
OBAN_V12_INDEXES = set(OBAN_V12_INDEX_DEFS)
OBAN_PEERS_COLUMNS = [
    ("name", "text", True),
    ("node", "text", True),
    ("started_at", "timestamp without time zone", True),
    ("expires_at", "timestamp without time zone", True),
]
PIIQ_INDEXES = {
    "piiq_oban_jobs_unique_index",
    "piiq_oban_jobs_staging_index",
    "piiq_oban_jobs_completed_at_index",
    "piiq_oban_jobs_cancelled_at_index",
    "piiq_oban_jobs_discarded_at_index",
}
STATES = ["available", "scheduled", "executing", "retryable", "completed", "discarded", "cancelled"]


def columns(conn: psycopg.Connection, schema: str) -> dict:
    """Each column of oban_jobs: (type as format_type names it, NOT NULL, default)."""
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        (f'"{schema}".oban_jobs',),
    ).fetchall()
    return {name: (dtype, notnull, default) for name, dtype, notnull, default in rows}


def index_names(conn: psycopg.Connection, schema: str) -> set[str]:
    rows = conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'oban_jobs'",
        (schema,),
    )
    return {r[0] for r in rows}


def oban_only_migrate(conn: psycopg.Connection, schema: str, to: int) -> None:
    """What Elixir Oban alone would leave: its migrations and version comment, no piiq objects."""
    for version in range(1, to + 1):
        with conn.transaction():
            conn.execute(load_sql(f"migrations/v{version:02d}_up.sql", schema).encode())
    conn.execute(f"COMMENT ON TABLE \"{schema}\".oban_jobs IS '{to}'")


def test_fresh_database_gets_oban_v12_schema(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        report = migrate_up(conn)
        assert (report.before, report.after) == (0, OBAN_VERSION)
        assert columns(conn, "public") == OBAN_V12_COLUMNS
        labels = conn.execute(
            "SELECT enumlabel FROM pg_enum WHERE enumtypid = 'public.oban_job_state'::regtype "
            "ORDER BY enumsortorder"
        ).fetchall()
        assert [r[0] for r in labels] == STATES
        constraints = conn.execute(
            # PostgreSQL 18 also lists NOT NULL as constraints (contype 'n'); the columns'
            # nullability is compared above, as every version reports it.
            "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
            "WHERE conrelid = 'public.oban_jobs'::regclass AND contype <> 'n'"
        ).fetchall()
        assert {name: (d, valid) for name, d, valid in constraints} == OBAN_V12_CONSTRAINTS
        defs = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                "AND tablename = 'oban_jobs'"
            ).fetchall()
        )
        for name, definition in OBAN_V12_INDEX_DEFS.items():
            assert defs[name].endswith(f"ON public.oban_jobs USING {definition}"), defs[name]
        assert set(defs) - OBAN_V12_INDEXES == PIIQ_INDEXES
        peers = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull "
            "FROM pg_attribute a WHERE a.attrelid = 'public.oban_peers'::regclass "
            "AND a.attnum > 0 ORDER BY a.attnum"
        ).fetchall()
        assert [tuple(r) for r in peers] == OBAN_PEERS_COLUMNS
        persistence = conn.execute(
            "SELECT relpersistence FROM pg_class WHERE oid = 'public.oban_peers'::regclass"
        ).fetchone()
        assert persistence == ("u",)  # UNLOGGED, as V11 makes it
        assert current_version(conn) == 12
        triggers = conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.oban_jobs'::regclass "
            "AND NOT tgisinternal"
        ).fetchall()
        # V12 moved insert notifications to the application; piiq's scrub trigger is ours
        assert [r[0] for r in triggers] == ["piiq_scrub_final"]


def test_tags_of_earlier_piiq_databases_become_text(
    fresh_database: str,
) -> None:
    """Earlier piiq releases created tags as character varying(255)[]; piiq migrate turns
    it into Oban's text[], keeps the values, and does it once."""
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        migrate_up(conn)
        conn.execute(
            "ALTER TABLE oban_jobs ALTER COLUMN tags TYPE character varying(255)[], "
            "ALTER COLUMN tags SET DEFAULT ARRAY[]::character varying[]"
        )
        conn.execute("INSERT INTO oban_jobs (worker, tags) VALUES ('w', '{slack,pii}')")
        conn.execute("INSERT INTO oban_jobs (worker) VALUES ('w')")
        report = migrate_up(conn)
        assert report.applied == ("tags text[]",)
        assert columns(conn, "public")["tags"] == ("text[]", False, "ARRAY[]::text[]")
        tags = conn.execute("SELECT tags FROM oban_jobs ORDER BY id").fetchall()
        assert [r[0] for r in tags] == [["slack", "pii"], []]
        assert migrate_up(conn).applied == ()


def test_migrate_is_idempotent_and_the_seed_query_works(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        migrate_up(conn)
        again = migrate_up(conn)
        assert not again.changed
        conn.execute("INSERT INTO oban_jobs (worker, args) VALUES ('MyApp.Worker', '{\"a\": 1}')")
        cur = conn.execute("SELECT * FROM oban_jobs ORDER BY inserted_at DESC LIMIT 10;")
        names = [c.name for c in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
        assert row["state"] == "available" and row["queue"] == "default"
        assert row["attempt"] == 0 and row["max_attempts"] == 20 and row["errors"] == []


def test_database_migrated_by_oban_is_left_as_is(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        oban_only_migrate(conn, "public", 12)
        before = columns(conn, "public"), index_names(conn, "public")
        report = migrate_up(conn)
        assert report.before == 12 and report.applied == ("piiq additions",)
        assert columns(conn, "public") == before[0]
        assert index_names(conn, "public") - before[1] == PIIQ_INDEXES


def test_older_oban_database_is_upgraded_one_step(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        oban_only_migrate(conn, "public", 11)
        report = migrate_up(conn)
        assert report.applied == ("oban v12", "piiq additions")
        assert current_version(conn) == 12


def piiq_queues_table(conn: psycopg.Connection) -> str | None:
    return conn.execute("SELECT to_regclass('public.piiq_queues')::text").fetchone()[0]


def test_down_to_and_back_up(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        migrate_up(conn)
        full = columns(conn, "public")
        report = migrate_down(conn, 8)
        assert report.after == 8 and current_version(conn) == 8
        assert "cancelled_at" not in columns(conn, "public")  # V09 added it
        assert piiq_queues_table(conn) is None  # piiq's additions go first
        migrate_up(conn)
        assert columns(conn, "public").keys() == full.keys()
        assert piiq_queues_table(conn) == "piiq_queues"
        migrate_down(conn, 0)
        assert current_version(conn) == 0
        assert conn.execute("SELECT to_regtype('public.oban_job_state')").fetchone()[0] is None


def test_down_to_rejects_out_of_range(fresh_database: str) -> None:
    with (
        psycopg.connect(fresh_database, autocommit=True) as conn,
        pytest.raises(MigrationError, match="--down-to 15 is out of range"),
    ):
        migrate_down(conn, 15)


def test_foreign_oban_jobs_table_is_refused(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE oban_jobs (id int)")
        with pytest.raises(MigrationError, match="not created by Oban or piiq"):
            migrate_up(conn)


def test_prefix_keeps_schemas_apart(queue_database_url: str, queue_prefix: str) -> None:
    with psycopg.connect(queue_database_url) as conn:
        assert current_version(conn, queue_prefix) == 12
        assert set(columns(conn, queue_prefix)) == set(OBAN_V12_COLUMNS)


def test_cli_migrate(fresh_database: str) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["migrate", "--database-url", fresh_database])
    assert result.exit_code == 0, result.output
    assert "version 0 -> 12" in result.output
    result = runner.invoke(main, ["migrate", "--database-url", fresh_database])
    assert "nothing to do" in result.output
    result = runner.invoke(main, ["migrate", "--database-url", fresh_database, "--down-to", "11"])
    assert result.exit_code == 0 and "version 12 -> 11" in result.output


def test_cli_migrate_unreachable_database_says_so() -> None:
    result = CliRunner().invoke(
        main, ["migrate", "--database-url", "postgresql://nobody:secret@127.0.0.1:1/none"]
    )
    assert result.exit_code == 1
    assert "cannot reach the database nobody@127.0.0.1:1/none" in result.output
    assert "secret" not in result.output


def test_cli_migrate_without_url_explains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIIQ_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code == 2 and "PIIQ_DATABASE_URL" in result.output


def test_migrate_works_on_a_connection_that_prepares_everything(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, autocommit=True, prepare_threshold=0) as conn:
        assert migrate_up(conn).after == OBAN_VERSION


def enum_labels(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT enumlabel FROM pg_enum WHERE enumtypid = 'public.oban_job_state'::regtype "
        "ORDER BY enumsortorder"
    ).fetchall()
    return [r[0] for r in rows]


V13_INDEX_DEFS = {
    "oban_jobs_state_cancelled_at_index": "btree (state, cancelled_at)",
    "oban_jobs_state_discarded_at_index": "btree (state, discarded_at)",
}


def test_versions_13_and_14_on_request_and_back(fresh_database: str) -> None:
    """Oban's V13 (two pruning indexes) and V14 (suspended, before scheduled); the default
    stays 12 and leaves a newer schema alone; down to 12 keeps piiq's additions and, as
    Oban's V14 down, the enum label."""
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        report = migrate_up(conn, version=14)
        assert report.applied[-3:] == ("oban v13", "oban v14", "piiq additions")
        assert current_version(conn) == 14
        defs = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                "AND tablename = 'oban_jobs'"
            ).fetchall()
        )
        for name, definition in V13_INDEX_DEFS.items():
            assert defs[name].endswith(f"ON public.oban_jobs USING {definition}"), defs[name]
        assert enum_labels(conn) == [STATES[0], "suspended", *STATES[1:]]
        assert migrate_up(conn).applied == () and current_version(conn) == 14
        migrate_down(conn, 12)
        assert current_version(conn) == 12
        assert index_names(conn, "public").isdisjoint(V13_INDEX_DEFS)
        assert piiq_queues_table(conn) == "piiq_queues"
        assert "suspended" in enum_labels(conn)
        assert migrate_up(conn, version=14).applied == ("oban v13", "oban v14")


def test_cli_migrate_version(fresh_database: str) -> None:
    runner = CliRunner()
    url = ["--database-url", fresh_database]
    result = runner.invoke(main, ["migrate", *url, "--version", "13"])
    assert result.exit_code == 0 and "version 0 -> 13" in result.output, result.output
    result = runner.invoke(main, ["migrate", *url, "--version", "15"])
    assert result.exit_code == 2 and "15 is not in the range 12<=x<=14" in result.output
    result = runner.invoke(main, ["migrate", *url, "--version", "14", "--down-to", "12"])
    assert result.exit_code == 2 and "give --version or --down-to, not both" in result.output
