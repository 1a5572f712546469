"""Markdown descriptions to safe HTML: markdown-it (raw HTML off), then nh3's allow-list."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

# Raw HTML is escaped by the parser; nh3 then strips anything unsafe the Markdown produced
# (javascript: links, event attributes) and adds rel="noopener noreferrer" to links.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def render_markdown(text: str) -> str:
    html: str = nh3.clean(
        _md.render(text),
        tags=_TAGS,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return html
