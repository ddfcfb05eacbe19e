"""The domain vocabulary carries callers' words to the content's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.errors import ConfigError
from search.vocabulary import load_vocabulary


@pytest.fixture(scope="module")
def vocabulary():  # type: ignore[no-untyped-def]
    return load_vocabulary()


@pytest.mark.parametrize(("query", "added"), [
    ("how long does cbt take", "cognitive behavioural therapy"),
    ("is EMDR safe", "eye movement desensitisation and reprocessing"),
    ("help for OCD", "obsessive-compulsive disorder"),
    ("dialectical behaviour therapy groups", "DBT"),
    ("is talking therapy free", "psychological therapy"),
    ("do I need to see a shrink", "psychiatrist"),
    ("my kids won't go to school", "children"),
    # a condition described, not named: the words of the pages that help with it
    ("my kids won't go to school", "school refusal"),
    ("my daughter keeps making herself sick after meals", "eating disorder"),
    ("my husband keeps checking the locks", "obsessive-compulsive disorder"),
])
def test_acronyms_and_lay_terms_add_the_content_words(vocabulary, query: str, added: str) -> None:  # type: ignore[no-untyped-def]
    assert added in vocabulary.expand(query).added


@pytest.mark.parametrize(("query", "normalised"), [
    ("behavior therapy for kids", "behaviour therapy for kids"),
    ("Counseling near me", "Counselling near me"),
    ("pediatric services", "paediatric services"),
])
def test_us_spellings_become_the_pages_spellings(vocabulary, query: str, normalised: str) -> None:  # type: ignore[no-untyped-def]
    assert vocabulary.expand(query).text == normalised


def test_acronyms_that_are_everyday_words_need_capitals(vocabulary) -> None:  # type: ignore[no-untyped-def]
    assert "acceptance and commitment therapy" in vocabulary.expand("what is ACT").added
    assert vocabulary.expand("how should I act when nervous").added == ()
    assert vocabulary.expand("my cat died").added == ()


def test_terms_already_in_the_query_are_not_repeated(vocabulary) -> None:  # type: ignore[no-untyped-def]
    expansion = vocabulary.expand("CBT or cognitive behavioural therapy")
    assert expansion.added == ()
    assert expansion.joined() == "CBT or cognitive behavioural therapy"


def test_a_broken_vocabulary_file_names_itself(tmp_path: Path) -> None:
    broken = tmp_path / "vocabulary.toml"
    broken.write_text("[acronyms\nCBT = ")
    with pytest.raises(ConfigError, match=r"vocabulary\.toml"):
        load_vocabulary(broken)


def test_staff_shorthand_reads_as_the_pages_words(vocabulary) -> None:  # type: ignore[no-untyped-def]
    expansion = vocabulary.expand("psych ax how many appts, pt has an mh dx")
    assert expansion.text == ("psychiatric assessment how many appointments, patient has an "
                              "mental health diagnosis")
    assert "guided self-help" in vocabulary.expand("gsh how many sesh").added
