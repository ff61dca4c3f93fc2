"""The texts of one message that get scanned: its body, attachments and blocks."""

from __future__ import annotations

import re
from typing import Any

from ..detect import Source

TEXT = "text"
_WORD = re.compile(r"[^\W_]+")


def message_sources(args: dict[str, Any]) -> list[Source]:
    """Sources named ``text``, ``attachment N`` and ``blocks`` (when blocks add anything)."""
    text = args.get("text") or ""
    sources = [Source(TEXT, text)] if text.strip() else []
    for number, attachment in enumerate(args.get("attachments") or [], start=1):
        parts = [str(v) for k, v in attachment.items() if k != "fields" and v]
        parts += [f"{f['title']}: {f['value']}" for f in attachment.get("fields") or []]
        if parts:
            sources.append(Source(f"attachment {number}", "\n".join(parts)))
    blocks = "\n".join(_block_texts(args.get("blocks") or []))
    if blocks.strip() and not _same_words(blocks, text):
        sources.append(Source("blocks", blocks))
    return sources


def _block_texts(node: Any) -> list[str]:
    """Every ``text`` string in a Block Kit tree (rich_text, section, context ...)."""
    if isinstance(node, list):
        return [t for item in node for t in _block_texts(item)]
    if not isinstance(node, dict):
        return []
    found = []
    value = node.get("text")
    if isinstance(value, str):
        found.append(value)
    for key, child in node.items():
        if key != "text" or isinstance(child, dict | list):
            found += _block_texts(child)
    return found


def _same_words(blocks: str, text: str) -> bool:
    """Rich-text blocks usually repeat the message text; scanning them twice adds nothing."""
    return set(_WORD.findall(blocks.lower())) <= set(_WORD.findall(text.lower()))
