"""Markdown → blocks with markdown-it: headings by level (not a ``#`` in a code block),
list items, and table rows as items."""

from __future__ import annotations

from typing import Any

from search.structure import Block


def markdown_blocks(markdown: str) -> list[Block]:
    """Markdown → blocks with markdown-it, so a ``#`` inside a code fence is no heading."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    blocks: list[Block] = []
    in_item = 0
    for index, token in enumerate(tokens):
        if token.type == "list_item_open":
            in_item += 1
        elif token.type == "list_item_close":
            in_item -= 1
        elif token.type == "inline":
            opener = tokens[index - 1].type
            text = _inline_text(token)
            if opener == "heading_open":
                blocks.append(Block("heading", text, int(tokens[index - 1].tag[1:])))
            elif opener in ("th_open", "td_open"):
                _append_table_cell(blocks, text, tokens[index - 1].type == "th_open")
            else:
                blocks.append(Block("item" if in_item else "paragraph", text))
        elif token.type in ("fence", "code_block"):
            blocks.append(Block("paragraph", token.content.rstrip("\n")))
        elif token.type == "tr_close":
            blocks.append(Block("paragraph", ""))  # a row ends; the next cell starts anew
    return [b for b in blocks if b.text.strip()]


def _append_table_cell(blocks: list[Block], text: str, header: bool) -> None:
    if blocks and blocks[-1].kind == "paragraph" and blocks[-1].text.endswith(" |"):
        blocks[-1] = Block("paragraph", f"{blocks[-1].text} {text} |")
    else:
        blocks.append(Block("paragraph", f"| {text} |"))


def _inline_text(token: Any) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return " ".join("".join(parts).split())


#: Nesting from which the HTML parser (libxml2, under trafilatura) stops reading: past
#: about 255 levels everything after the deepest point is silently lost.
