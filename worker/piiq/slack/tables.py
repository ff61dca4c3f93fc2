"""piiq's own tables on the Slack side, beside Oban's: one call creates them all."""

from __future__ import annotations

from typing import Any

import psycopg

from .audit import create_audit_table
from .history_store import create_history_tables
from .installations import create_installation_tables
from .ratelimits import create_rate_limit_table
from .review_store import create_review_tables
from .siem.deadletters import create_dead_letter_table


def create_slack_tables(conn: psycopg.Connection[Any], prefix: str = "public") -> None:
    """Idempotent: the audit trail (and its dead letters), the shared rate limits, the review
    items and allow-list, OAuth installations, history scans. ``piiq migrate`` runs it after
    the queue's migrations; tests, the demo and benches that set up a schema too."""
    create_audit_table(conn, prefix)
    create_rate_limit_table(conn, prefix)
    create_review_tables(conn, prefix)
    create_installation_tables(conn, prefix)
    create_dead_letter_table(conn, prefix)
    create_history_tables(conn, prefix)
