"""Query words, typo distance and highlighting, the same for every engine.

The user's query is never handed to an engine's own syntax: it is cut into plain words here,
so quotes, parentheses, AND/OR/NEAR, ``:``, ``*`` or SQL are just characters.
"""

from __future__ import annotations

import html
import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 10


def fold(text: str) -> str:
    """Lower-case and strip accents, as the engines' tokenisers do."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(fold(text)) if w.strip("_")]


def query_terms(q: str) -> list[str]:
    return words(q)[:MAX_TERMS]


def max_typos(term: str) -> int:
    # Meilisearch's defaults: one typo from 5 letters, two from 9.
    return 0 if len(term) < 5 else 1 if len(term) < 9 else 2


def within(a: str, b: str, limit: int) -> bool:
    """Edit distance of a and b is at most ``limit``, a swap of neighbours counting as one
    (optimal string alignment, as typo-tolerant engines count); stops early."""
    if abs(len(a) - len(b)) > limit:
        return False
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        if min(row) > limit:
            return False
        rows.append(row)
    return rows[-1][-1] <= limit


def highlight(text: str, matched: list[list[str]], prefix_last: bool = True) -> str:
    """HTML-escaped ``text`` with the matched words wrapped in <mark>."""
    exact = {w for group in matched for w in group}
    prefixes = set(matched[-1]) if matched and prefix_last else set()
    out, last = [], 0
    for m in _WORD.finditer(text):
        word = fold(m.group())
        if word in exact or any(word.startswith(p) for p in prefixes):
            out.append(html.escape(text[last : m.start()]))
            out.append(f"<mark>{html.escape(m.group())}</mark>")
            last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def snippet(text: str, matched: list[list[str]], width: int = 160) -> str:
    """A window of ``text`` around its first match, highlighted."""
    exact = {w for group in matched for w in group}
    start = 0
    for m in _WORD.finditer(text):
        if fold(m.group()) in exact:
            start = max(0, m.start() - width // 3)
            break
    piece = text[start : start + width]
    lead = "…" if start > 0 else ""
    tail = "…" if start + width < len(text) else ""
    return lead + highlight(piece, matched) + tail
