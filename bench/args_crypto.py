"""What PIIQ_ARGS_KEYS costs per message: sealing at the ingress, opening in the worker.

    .venv/bin/python bench/args_crypto.py [--rounds 20000]

Seals and opens the args of Slack message jobs (AES-256-GCM, the ingress's and the
workers' own code, piiq.runtime.argscrypt) for a short message, a 4 KB one with blocks, and a
40 KB one, and prints microseconds per message and the growth of the stored args. One
core, in-process; compare with the ingress's ~10 ms ack p50 (docs/slack.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "worker"))
from piiq.runtime.argscrypt import ArgsKeys, generate, open_args
from piiq.slack.jobs import MESSAGE_SEALED_ARGS


def message(text: str) -> dict:
    return {
        "event_id": "Ev0BENCH",
        "team": "T0BENCH",
        "channel": "C0BENCH",
        "user": "U0BENCH",
        "ts": "1796286188.000001",
        "thread_ts": None,
        "edited": False,
        "text": text,
        "attachments": [],
        "blocks": [{"type": "rich_text", "elements": [{"type": "text", "text": text}]}],
        "files": [],
    }


def per_message_us(step, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        step()
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    args = parser.parse_args()
    keys = ArgsKeys.parse(f"{generate('new')},{generate('old')}")
    table = Table(title="PIIQ_ARGS_KEYS: AES-256-GCM per message job")
    for column in ("message", "plain args B", "sealed args B", "seal µs", "open µs"):
        table.add_column(column, justify="right")
    cases = {
        "short (30 chars)": "lunch at 12? card 4556 7375 8",
        "4 KB": "my details are below. " * 186,
        "40 KB (Slack's max)": "x" * 40_000,
    }
    for label, text in cases.items():
        plain = message(text)
        sealed = keys.seal(plain, MESSAGE_SEALED_ARGS)
        stored = json.loads(json.dumps(sealed))
        assert open_args(stored, keys) == plain
        rounds = max(args.rounds // (1 + len(text) // 4000), 500)
        table.add_row(
            label,
            f"{len(json.dumps(plain)):,}",
            f"{len(json.dumps(sealed)):,}",
            f"{per_message_us(lambda p=plain: keys.seal(p, MESSAGE_SEALED_ARGS), rounds):.1f}",
            f"{per_message_us(lambda s=stored: open_args(s, keys), rounds):.1f}",
        )
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
