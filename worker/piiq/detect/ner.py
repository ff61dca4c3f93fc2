"""The NER stage: spaCy names and places, run only on the texts that need them.

Only the ``ner`` component runs (and a shared ``tok2vec`` if the model's NER listens to
one): Presidio reads no parse, tags or lemmas for names, and context is matched on plain
words (``context``). spaCy scores every entity the same (Presidio reports 0.85), so the
model's false persons are filtered by their shape: "node 10.42.0.17", "JSON",
"Travis-ci", "app.py", host and service names are not people.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .context import Words
from .resolve import Hit

LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION",
          "NORP": "NRP"}  # fmt: skip
NER_SCORE = 0.85

_NAME_PART = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?\.?", re.UNICODE)
# Lower-case particles inside names: "Ludwig van Beethoven", "Maria de la Cruz".
PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du", "la",
     "le", "bin", "ibn", "al", "el", "ter", "ten", "y", "e"}
)  # fmt: skip
# Words right before a "name" that make it a machine: node web-3, host Kafka, pod Kenji.
MACHINE_WORDS = frozenset(
    {"node", "nodes", "host", "hosts", "server", "servers", "pod", "pods", "service",
     "services", "cluster", "container", "branch", "repo", "bucket", "table", "database",
     "db", "queue", "topic", "job", "namespace", "deployment", "instance", "vm", "image",
     "tag", "package", "module", "class", "function", "method", "file", "channel", "bot",
     "app", "project", "env", "environment", "region", "zone", "machine", "worker", "runner"}
)  # fmt: skip
_NOT_IN_NAMES = set('0123456789._/@:=#<>[]{}()\\|*`~$%^&+"!?;,')


def plausible_person(text: str, start: int, end: int, words: Words) -> bool:
    """Whether a PERSON span looks like a person's name, not a host, tool or file."""
    span = text[start:end]
    if not span.strip() or any(c in _NOT_IN_NAMES for c in span.rstrip(".")):
        return False
    after = text[end : end + 2]
    if after[:1] in ("_", "/", "@", ":", "=") or (after[:1] == "." and after[1:].isalnum()):
        return False  # app.py, Kenji@host, name_with_suffix
    tokens = span.split()
    if len(tokens) > 5:
        return False
    capitalised = 0
    for token in tokens:
        for part in token.split("-"):
            if not _NAME_PART.fullmatch(part):
                return False
            if part.lower() in PARTICLES:
                continue
            if not part[0].isupper():
                return False  # Travis-ci, kubectl
            if part.isupper() and len(part) > 1:
                return False  # JSON, YAML, AWS
            capitalised += 1
    if capitalised == 0:
        return False
    before = words.before(start, 1)
    return not (before and before[0] in MACHINE_WORDS)


def _name_end(text: str, start: int, end: int) -> int:
    """The end of the name part of a PERSON span: the model often runs a name on into the
    number after it ("John Smith 0702931375" as one PERSON)."""
    last = start
    for m in re.finditer(r"\S+", text[start:end]):
        if any(c.isdigit() for c in m.group()) or m.group()[0] in "+(":
            break
        last = start + m.end()
    return last


class NerStage:
    """spaCy NER, loaded once; counts the texts it was asked to read (tests and benches)."""

    def __init__(self, model: str) -> None:
        import spacy

        nlp = spacy.load(model)
        keep = {"ner"}
        for name, pipe in nlp.pipeline:
            if "ner" in (getattr(pipe, "listening_components", None) or ()):
                keep.add(name)  # a shared tok2vec the NER component listens to
        for name in [n for n in nlp.pipe_names if n not in keep]:
            nlp.remove_pipe(name)
        self.nlp = nlp
        self.texts_read = 0
        self.calls = 0

    def find(self, texts: Sequence[str], *, batch_size: int = 64) -> list[list[Hit]]:
        """PERSON / LOCATION / NRP hits of each text, false persons left out."""
        if not texts:
            return []
        self.calls += 1
        self.texts_read += len(texts)
        out: list[list[Hit]] = []
        for text, doc in zip(texts, self.nlp.pipe(texts, batch_size=batch_size), strict=True):
            words: Words | None = None
            hits = []
            for ent in doc.ents:
                entity = LABELS.get(ent.label_)
                if entity is None:
                    continue
                start, end = ent.start_char, ent.end_char
                if entity == "PERSON":
                    end = _name_end(text, start, end)  # "Maria Garcia 212-555-0147"
                    words = words or Words.of(text)
                    if end <= start or not plausible_person(text, start, end, words):
                        continue
                hits.append(Hit(entity, start, end, NER_SCORE))
            out.append(hits)
        return out
