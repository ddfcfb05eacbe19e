"""The lexical ranker: BM25 from stored term counts, scored exactly as bm25s scores."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import bm25s
import numpy as np
import pytest

from search import lexical
from search.lexical import LexicalIndex, TermCounts, count_terms, read_terms, write_terms

CORPUS = [
    "Cognitive behavioural therapy (CBT) helps people change unhelpful thoughts and behaviours.",
    "CBT for anxiety: anxiety anxiety anxiety. Worry, panic and avoidance are treated together.",
    "",
    "The and of to in is it that was for on are with as",
    "Schema therapy works with long-standing patterns called schemas, rooted in childhood.",
    "Dialectical behaviour therapy teaches distress tolerance, emotion regulation and mindfulness.",
    "Mindfulness-based cognitive therapy helps prevent relapse into depression.",
    "Depression, low mood and loss of interest: talking therapies and antidepressants.",
    "Eye movement desensitisation and reprocessing (EMDR) treats post-traumatic stress.",
    "PTSD: trauma-focused CBT or EMDR; waiting times for therapy vary by area.",
    "Family therapy involves relatives and carers; family family family sessions.",
    "Cognitive analytic therapy maps relationships and reciprocal roles over 16 to 24 sessions.",
    "Psychodynamic therapy explores how unconscious processes shape behaviour.",
    "Interpersonal therapy focuses on relationships, grief, disputes and role transitions.",
    "Counselling offers a safe space to talk about bereavement, stress or relationship problems.",
    "Exposure therapy gradually faces feared situations, reducing avoidance and panic.",
    "Sleep problems: CBT for insomnia (CBT-I) beats sleeping pills over the long term.",
    "Eating disorders: CBT-E, family-based treatment, and dietitian support.",
    "Obsessive compulsive disorder: exposure and response prevention, ERP, with SSRIs.",
    "Group therapy: people share experiences; groups run weekly for twelve weeks.",
    "Self-referral: you can refer yourself to NHS Talking Therapies for anxiety and depression.",
    "Phone 0300 123 4567 to book an assessment; the waiting time is about six weeks.",
    "Behavioural activation schedules rewarding activities to lift low mood.",
    "Therapy therapy therapy therapy therapy therapy therapy therapy.",
    "Art therapy and music therapy use creative expression when words are hard.",
    "Compassion-focused therapy targets shame and self-criticism.",
    "Acceptance and commitment therapy (ACT) builds psychological flexibility and values.",
    "Medication: SSRIs such as sertraline are often combined with talking therapy.",
    "Stress, burnout and work: a GP can refer you; employers may fund counselling.",
    "Children and young people: CAMHS offers family therapy and CBT.",
    "Relaxation training, breathing exercises and progressive muscle relaxation reduce tension.",
    "The therapist and client agree goals; sessions last fifty minutes.",
    "Online CBT courses give guided self-help with a practitioner's support.",
    "Running, walking and exercise improve mood, sleep and anxiety.",
    "What is the difference between counselling and psychotherapy?",
    "Relapse prevention plans list warning signs, coping skills and who to call.",
]

QUERIES = [
    "CBT for anxiety",
    "anxiety anxiety panic",
    "Therapy!",
    "THERAPIES, therapist; therapy?",
    "family family",
    "zyzzogeton quixotic",  # nowhere in the corpus
    "zyzzogeton anxiety",  # one word nowhere in the corpus
    "sleeping and insomnia",
    "waiting time for EMDR (PTSD)",
    "low mood depression relapse",
]


def bm25s_scores(corpus: list[str], query: str, k: int,
                 weight_mask: np.ndarray | None = None) -> list[tuple[int, float]]:
    """bm25s's own answer, filtered to scores > 0 as the ranker promises."""
    retriever = bm25s.BM25()
    retriever.index(lexical.tokenize(corpus), show_progress=False)
    rows, scores = retriever.retrieve(lexical.tokenize([query]), k=k, show_progress=False,
                                      weight_mask=weight_mask)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]


def assert_same_ranking(ours: list[tuple[int, float]],
                        theirs: list[tuple[int, float]]) -> None:
    """Same scores; the same rows except where bm25s's order among ties is arbitrary."""
    assert [s for _, s in ours] == pytest.approx(sorted((s for _, s in theirs), reverse=True),
                                                 abs=1e-5)
    assert ours == sorted(ours, key=lambda hit: (-hit[1], hit[0]))
    by_score: dict[float, set[int]] = {}
    for row, score in theirs:
        by_score.setdefault(round(score, 4), set()).add(row)
    boundary = round(ours[-1][1], 4) if ours else None
    for score, rows in by_score.items():
        mine = {r for r, s in ours if round(s, 4) == score}
        if score == boundary:  # a tie cut by depth: which tied rows make it is arbitrary
            assert len(mine) == len(rows)
        else:
            assert mine == rows


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex(count_terms(CORPUS))


@pytest.mark.parametrize("query", QUERIES)
def test_scores_equal_bm25s(index: LexicalIndex, query: str) -> None:
    theirs = bm25s_scores(CORPUS, query, k=len(CORPUS))
    ours = index.search(query, depth=len(CORPUS))
    assert {r for r, _ in ours} == {r for r, _ in theirs}
    assert dict(ours) == pytest.approx(dict(theirs), abs=1e-5)
    if query.startswith("zyzzogeton quixotic"):
        assert ours == []


@pytest.mark.parametrize("query", QUERIES)
def test_top_depth_equals_bm25s(index: LexicalIndex, query: str) -> None:
    assert_same_ranking(index.search(query, depth=3), bm25s_scores(CORPUS, query, k=3))


def test_repeated_query_words_count_again(index: LexicalIndex) -> None:
    once, twice = dict(index.search("panic", 50)), dict(index.search("panic panic", 50))
    assert once and twice == pytest.approx({r: 2 * s for r, s in once.items()}, rel=1e-6)


@pytest.mark.parametrize("query", ["CBT for anxiety", "therapy", "family relationships"])
def test_mask_equals_bm25s_weight_mask(index: LexicalIndex, query: str) -> None:
    mask = np.arange(len(CORPUS)) % 3 != 1
    ours = index.search(query, depth=len(CORPUS), mask=mask)
    theirs = bm25s_scores(CORPUS, query, k=len(CORPUS), weight_mask=mask.astype(np.float32))
    assert ours and all(mask[r] for r, _ in ours)
    assert dict(ours) == pytest.approx(dict(theirs), abs=1e-5)
    assert len(ours) < len(index.search(query, depth=len(CORPUS)))


def test_ties_go_to_the_lower_row() -> None:
    texts = ["grief support", "anxiety", "grief support", "grief support", "sleep"]
    hits = LexicalIndex(count_terms(texts)).search("grief", depth=2)
    assert [r for r, _ in hits] == [0, 2] and hits[0][1] == hits[1][1] > 0


def test_concatenated_segments_score_as_one_corpus() -> None:
    a, b, c = CORPUS[:11], CORPUS[11:12], CORPUS[12:]
    joined = LexicalIndex(TermCounts.concatenate([count_terms(a), count_terms(b),
                                                  count_terms(c)]))
    whole = LexicalIndex(count_terms(CORPUS))
    assert joined.size == whole.size == len(CORPUS)
    for query in QUERIES:
        assert joined.search(query, 10) == whole.search(query, 10)


def test_taking_live_rows_scores_as_counting_them_afresh() -> None:
    live = [0, 1, 4, 9, 16, 17, 23, 30, 2, 35]
    taken = LexicalIndex(count_terms(CORPUS).take(live))
    fresh = LexicalIndex(count_terms([CORPUS[i] for i in live]))
    assert taken.size == len(live)
    for query in QUERIES:
        assert taken.search(query, 10) == fresh.search(query, 10)
    # A term only deleted rows held no longer matches, though the vocabulary keeps it.
    assert LexicalIndex(count_terms(CORPUS).take([0, 2])).search("schema", 5) == []


def test_take_then_concatenate_across_segments() -> None:
    first, second = count_terms(CORPUS[:20]), count_terms(CORPUS[20:])
    merged = TermCounts.concatenate([first.take([3, 1, 7]), second.take([]), second.take([5])])
    fresh = count_terms([CORPUS[3], CORPUS[1], CORPUS[7], CORPUS[25]])
    assert merged.rows == 4
    for query in QUERIES:
        assert LexicalIndex(merged).search(query, 5) == LexicalIndex(fresh).search(query, 5)


def test_count_terms_counts_stemmed_terms_per_row() -> None:
    terms = count_terms(["Therapy, therapies and the therapist", "", "the of and", "sleep"])
    assert terms.rows == 4
    assert terms.offsets.dtype == np.int64 and terms.offsets[0] == 0
    assert terms.term_ids.dtype == np.int32 and terms.counts.dtype == np.int32
    rows = [{terms.vocabulary[t]: int(n) for t, n in zip(
        terms.term_ids[s:e], terms.counts[s:e], strict=True)}
        for s, e in zip(terms.offsets[:-1], terms.offsets[1:], strict=True)]
    assert rows == [{"therapi": 2, "therapist": 1}, {}, {}, {"sleep": 1}]
    assert count_terms([]).rows == 0


def test_concatenate_of_nothing_is_empty() -> None:
    empty = TermCounts.concatenate([])
    assert empty.rows == 0 and empty.vocabulary == () and list(empty.offsets) == [0]
    assert LexicalIndex(empty).search("therapy", 10) == []


def test_write_read_round_trip(tmp_path: Path) -> None:
    terms = count_terms(CORPUS).take([5, 3, 2, 8])
    write_terms(tmp_path / lexical.FOLDER, terms)
    back = read_terms(tmp_path / lexical.FOLDER)
    assert back.vocabulary == terms.vocabulary
    for name in ("offsets", "term_ids", "counts"):
        assert getattr(back, name).dtype == getattr(terms, name).dtype
        assert np.array_equal(getattr(back, name), getattr(terms, name))
    assert LexicalIndex(back).search("therapy", 4) == LexicalIndex(terms).search("therapy", 4)
    empty = tmp_path / "empty"
    write_terms(empty, count_terms([]))
    assert read_terms(empty).rows == 0


def test_files_are_plain_json_and_npy_not_pickles(tmp_path: Path) -> None:
    write_terms(tmp_path, count_terms(CORPUS[:5]))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counts.npy", "offsets.npy", "term_ids.npy", "vocabulary.json"]
    assert isinstance(json.loads((tmp_path / "vocabulary.json").read_text()), list)
    for name in ("counts", "offsets", "term_ids"):
        array = np.load(tmp_path / f"{name}.npy", allow_pickle=False)
        assert array.dtype != object
        with pytest.raises(pickle.UnpicklingError):
            pickle.loads((tmp_path / f"{name}.npy").read_bytes())


def damage_truncate(folder: Path) -> None:
    data = (folder / "term_ids.npy").read_bytes()
    (folder / "term_ids.npy").write_bytes(data[:-6])


def damage_empty(folder: Path) -> None:
    (folder / "offsets.npy").write_bytes(b"")


def damage_pickle(folder: Path) -> None:
    np.save(folder / "counts.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)


def damage_vocabulary(folder: Path) -> None:
    (folder / "vocabulary.json").write_text('["therapi", ')


def damage_short_vocabulary(folder: Path) -> None:
    (folder / "vocabulary.json").write_text('["therapi"]')


def damage_offsets(folder: Path) -> None:
    offsets = np.load(folder / "offsets.npy")
    offsets[1] = offsets[-1] + 1
    np.save(folder / "offsets.npy", offsets)


def damage_dtype(folder: Path) -> None:
    np.save(folder / "counts.npy", np.load(folder / "counts.npy").astype(np.float64))


def damage_missing(folder: Path) -> None:
    (folder / "counts.npy").unlink()


@pytest.mark.parametrize("damage", [
    damage_truncate, damage_empty, damage_pickle, damage_vocabulary, damage_short_vocabulary,
    damage_offsets, damage_dtype, damage_missing,
])
def test_damaged_files_raise(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    write_terms(tmp_path, count_terms(CORPUS))
    damage(tmp_path)
    with pytest.raises((ValueError, OSError)):
        read_terms(tmp_path)


def test_empty_corpus_and_empty_queries(index: LexicalIndex) -> None:
    nothing = LexicalIndex(count_terms([]))
    assert nothing.size == 0 and nothing.search("therapy", 10) == []
    assert nothing.search("therapy", 10, mask=np.zeros(0, dtype=bool)) == []
    assert LexicalIndex(count_terms(["", "the and"])).search("therapy", 10) == []
    assert index.search("", 10) == [] and index.search("the of and!", 10) == []
    assert index.search("therapy", 0) == []


def test_depth_larger_than_size(index: LexicalIndex) -> None:
    hits = index.search("therapy", depth=10 * len(CORPUS))
    assert hits == index.search("therapy", depth=len(CORPUS))
    assert 0 < len(hits) < len(CORPUS)


def test_mask_of_the_wrong_length_is_refused(index: LexicalIndex) -> None:
    with pytest.raises(ValueError, match="mask"):
        index.search("therapy", 5, mask=np.ones(3, dtype=bool))


def test_meaning_terms_leave_out_function_words_that_bm25_keeps() -> None:
    question = "how do i complain about my therapist"
    assert {"you", "my", "about"} & set(lexical.content_terms(question + " you"))
    assert lexical.meaning_terms(question) == ["complain", "therapist"]


def test_bm25_lead_says_how_sure_it_is() -> None:
    from search.retrieval import lexical_lead

    clear = [(0, 12.0), (1, 4.0)] + [(n, 3.0) for n in range(2, 12)]
    level = [(n, 5.0 - n * 0.01) for n in range(12)]
    assert lexical_lead(clear) == 0.75  # its best beats its tenth by three quarters
    assert lexical_lead(level) < 0.02  # a story sharing words with every passage
    assert lexical_lead([(0, 2.0), (1, 1.0)]) == 1.0  # few passages share a term: sure
    assert lexical_lead([]) == 0.0
