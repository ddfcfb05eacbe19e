"""HTML → Markdown with trafilatura (navigation, footers, scripts and styles dropped),
so the Markdown path reads it; pages nested past the parser's depth lose their grouping
tags first."""

from __future__ import annotations

import re

from search.errors import LoadError

MAX_HTML_DEPTH = 200
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)\b[^>]*?(/?)>")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                   "meta", "param", "source", "track", "wbr"})
#: Tags that only group other elements: dropped from an over-deep page, their text kept.
_CONTAINERS = re.compile(r"</?(div|span|section|article|font|center|main)\b[^>]*>",
                         re.IGNORECASE)


def _html_depth(html: str) -> int:
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(html):
        if name.lower() in _VOID or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def html_to_markdown(html: str) -> tuple[str | None, str]:
    """Main content as Markdown: trafilatura drops navigation, footers, scripts, styles.
    A page nested deeper than the parser reads (MAX_HTML_DEPTH) loses its grouping tags
    first, so its last paragraphs are read too; one still too deep is refused."""
    import trafilatura

    if _html_depth(html) > MAX_HTML_DEPTH:
        html = _CONTAINERS.sub(" ", html)
        deepest = _html_depth(html)
        if deepest > MAX_HTML_DEPTH:
            raise LoadError("html-too-deep", f"the HTML is nested {deepest:,} elements deep; "
                            f"past {MAX_HTML_DEPTH} it cannot be read whole. Save it again "
                            "from its editor, or as Markdown")

    try:
        markdown = trafilatura.extract(
            html, output_format="markdown", include_links=False, include_images=False,
            include_tables=True, include_comments=False, favor_recall=True,
        )
        metadata = trafilatura.extract_metadata(html)
    except (RecursionError, ValueError, TypeError, AttributeError) as error:
        raise LoadError("html-broken", f"the HTML cannot be parsed ({type(error).__name__})"
                        ) from error
    title = metadata.title if metadata is not None and metadata.title else None
    if not markdown:
        raise LoadError("no-text", "no readable main content was found in the HTML")
    return title, markdown
