"""Which page a question is answered from: the first ranked page the question names; else
the third, when only it of the top three has a section for the question's intent; else of
the first two pages the one whose best sentence scores best, the second needing
``PAGE_MARGIN`` more (a section for the intent counts in that score).

The rankers order passages; the quoter scores sentences with what the question asks for
(its intent's section, the fact it asks for, its words). A page ranked second whose best
sentence scores ``PAGE_MARGIN`` above the first page's answers the question better ("my
son is 5, can he be checked for it now?": the ADHD page's "from age 6", not the children's
team's list of worries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from search.query import Query
    from search.quoting import Candidate, Quoter
    from search.retrieval import Hit

#: How much better (in the quoter's score) the second page's best sentence must be.
PAGE_MARGIN = 0.1


def answering_page(query: Query, hits: tuple[Hit, ...], intent: Any, quoter: Quoter,
                   vector: np.ndarray) -> tuple[str, list[Candidate] | None]:
    """The page, with its candidate sentences when the choice scored them (else None)."""
    docs = list(dict.fromkeys(h.chunk.doc_id for h in hits))
    named = [d for d in docs if d in query.treatments]
    if named:
        return named[0], None
    if intent is not None:
        with_section = [d for d in docs[:3] if any(intent.heads(s.heading)
                                                   for s in quoter.document(d).sections)]
        if with_section and with_section[0] not in docs[:2]:
            return with_section[0], None
    best: tuple[str, list[Candidate] | None] = (docs[0], None)
    best_score = float("-inf")
    for rank, doc_id in enumerate(docs[:2]):
        document = quoter.document(doc_id)
        candidates = quoter.candidates(query, hits, vector, document,
                                       quoter.intent_on(query, document, intent))
        score = max((c.score for c in candidates), default=float("-inf")) - PAGE_MARGIN * rank
        if score > best_score:
            best, best_score = (doc_id, candidates), score
    return best
