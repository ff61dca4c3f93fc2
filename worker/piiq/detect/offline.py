"""Keep Presidio and its dependencies off the network.

Presidio's email recognizer validates domains with tldextract, which fetches the Public
Suffix List on first use; without a network that means tracebacks or a hang until a
timeout. The bundled snapshot is enough for us.
"""

from __future__ import annotations

_done = False


def make_offline() -> None:
    global _done
    if _done:
        return
    from tldextract import tldextract

    # tldextract.extract() calls this module-level extractor: one without URLs to fetch.
    tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())
    _done = True
