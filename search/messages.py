"""A message as typed or pasted: cleaned (or refused, with a reason), its asking
sentences, and the part of a long one that retrieval reads."""

from __future__ import annotations

import re

from search.errors import QueryError

#: Longest message accepted, in characters: a pasted e-mail or chat transcript.
MAX_MESSAGE_CHARS = 20_000
#: Longest text retrieval reads, in characters: about 200 word pieces, inside the model's
#: 256-piece window with room for the breadcrumb-free query's special tokens.
MAX_QUERY_CHARS = 1_000


def clean_message(message: str) -> str:
    """Collapse whitespace and refuse what is not a message, with a reason."""
    if not isinstance(message, str):
        raise QueryError("the query must be text")
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in message).split())
    if not cleaned:
        raise QueryError("the query is empty: type a question or some words to search for")
    if len(cleaned) > MAX_MESSAGE_CHARS:
        raise QueryError(f"the message is {len(cleaned):,} characters long; the limit is "
                         f"{MAX_MESSAGE_CHARS:,}: paste the part with the question")
    return cleaned


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_QUESTION_START = re.compile(
    r"^(what|whats|how|who|where|when|why|which|can|could|is|are|do|does|did|will|would|"
    r"should|shall|may|any|has|have)\b", re.IGNORECASE)


#: Words from which a message may be a story and a question; a shorter one is all
#: question ("central referals line no. + is it open sat?" asks for both).
STORY_WORDS = 20


def asking_part(text: str) -> str:
    """The sentences of a message that ask something (end in "?" or open with a question
    word); all of it when it is short, has one sentence, or none asks."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    if len(sentences) < 2 or len(text.split()) < STORY_WORDS:
        return text
    asking = [s for s in sentences if s.rstrip().endswith("?") or _QUESTION_START.match(s)]
    return " ".join(asking) if asking else text


def question_part(message: str, budget: int = MAX_QUERY_CHARS) -> tuple[str, bool]:
    """The part of a long message that asks something, within ``budget`` characters:
    its questions, latest first kept when they do not all fit; failing any, its end.
    Returns the text and whether it is an excerpt."""
    if len(message) <= budget:
        return message, False
    sentences = [s for s in _SENTENCE_END.split(message) if s.strip()]
    asking = [i for i, s in enumerate(sentences)
              if s.rstrip().endswith("?") or _QUESTION_START.match(s)]
    chosen: list[int] = []
    used = 0
    for i in reversed(asking or range(len(sentences))):
        size = min(len(sentences[i]), budget) + 1
        if used + size > budget and chosen:
            break
        chosen.append(i)
        used += size
    text = " ".join(sentences[i] for i in sorted(chosen))
    return text[:budget].rsplit(" ", 1)[0] if len(text) > budget else text, True
