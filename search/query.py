"""The question, analysed once: a frozen Query that retrieval, answering, the crisis check
and coverage all read, so that no step cleans or expands the question again.

A Query holds the cleaned text (for a long pasted message, its question-bearing part within
the model's window), its language, the treatments it names, the intent on the
treatment-page template (what it is, how long, side effects, referral...) and the type of
answer asked for (a phone number, a waiting time, a price...). Intents and answer types
come from ``data/questions.toml`` (``search.question_rules``), which the content team edits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from search.messages import asking_part, clean_message, question_part
from search.names import MAX_NAME_WORDS, name_key, with_acronyms
from search.question_rules import QuestionRules
from search.vocabulary import Expansion, Vocabulary

ENGLISH = "en"
#: Share of a Latin-script question's words that are English or ours from which it is
#: English, whatever py3langid says (it takes "ref line open til wat time" for Nigerian
#: Pidgin): staff shorthand is mostly our own words, misspelt.
KNOWN_SHARE = 0.35
LANGUAGE_SURE = 0.5
#: Words a question may carry besides the service's own (booking, lines, hours) and still
#: be about the service as a whole: "main line open sun?" has one, "central referals line
#: no. + is it open sat?" two; a caller describing a situation has a dozen or more.
SERVICE_TOPIC_WORDS = 4


@dataclass(frozen=True)
class Query:
    """One question, analysed. ``text`` is what retrieval reads; ``asked`` what was typed."""

    asked: str
    text: str
    language: str
    expansion: Expansion
    #: Documents whose treatment the question names (title, acronym or a lay name).
    treatments: frozenset[str]
    intent: str | None
    answer_type: str | None
    #: ``text`` is the question-bearing part of a longer message.
    excerpted: bool = False
    #: Content words besides those of the intents and answer types: what the question
    #: describes ("my husband keeps checking the locks...") beyond what it asks for.
    topic_words: int = 0
    #: The stemmed content words of what is asked (its asking sentences), besides those
    #: of the intents and answer types: "Does your addiction service give families
    #: naloxone kits?" → famili, naloxon, kit... A page without them does not answer it.
    asked_terms: tuple[str, ...] = ()
    #: A treatment the question asks about that none of our pages mentions
    #: ("hypnotherapy", "equine therapy"); empty when it names one of ours.
    unknown_treatment: str = ""
    #: The stemmed words of the phrases that named a treatment ("couples therapy",
    #: "DBT", "gsh", "electroshock"): which page, not what is asked of it.
    naming_terms: frozenset[str] = frozenset()
    #: What a question of the count type counts ("how many crisis house beds?").
    counted: tuple[str, ...] = ()
    #: The message tells a story before it asks: not all of its sentences ask.
    story: bool = False

    @property
    def english(self) -> bool:
        return self.language == ENGLISH

    @property
    def about_the_service(self) -> bool:
        """Names no treatment and describes nothing but what it asks of the service
        ("number to book?", "r u open sat?")."""
        return not self.treatments and self.topic_words <= SERVICE_TOPIC_WORDS

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "language": self.language,
                "treatments": sorted(self.treatments), "intent": self.intent,
                "answer_type": self.answer_type, "excerpted": self.excerpted,
                "topic_words": self.topic_words, "asked_terms": list(self.asked_terms),
                "unknown_treatment": self.unknown_treatment, "counted": list(self.counted),
                "story": self.story,
                "expansion": list(self.expansion.added)}


class Analyser:
    """Turns a question into a Query: needs the vocabulary, the treatment names of the
    index, and a test of whether a word is one our pages use (for the language)."""

    def __init__(self, vocabulary: Vocabulary, names: dict[str, set[str]],
                 rules: QuestionRules, known_word: Callable[[str], bool]) -> None:
        self.vocabulary = vocabulary
        self.names = with_acronyms(names, vocabulary.acronyms)
        #: Names of two words or more (the only ones read with misspellings), their words,
        #: and the misspellings met so far.
        self._long_names = {name: ids for name, ids in self.names.items()
                            if len(name.split()) >= 2}
        self._name_words = {w for name in self._long_names for w in name.split()}
        self._name_words_by_letter: dict[str, list[str]] = {}
        for word in sorted(self._name_words):
            if len(word) >= 5:
                self._name_words_by_letter.setdefault(word[0], []).append(word)
        self._misspelt: dict[str, str] = {}
        self._keyword_of: dict[str, str] = {}  # a misspelt asking word → its keyword
        self._names_of_term: dict[str, frozenset[str]] = {}
        self._terms_of_names: dict[str, frozenset[str]] = {}
        self.rules = rules
        self._known_word = known_word

    def analyse(self, question: str, subject: str | None = None) -> Query:
        """``subject``: the treatment the user chose to ask about (a title), added to a
        question that names none ("who is it for?" → "who is it for? (CBT)")."""
        asked = clean_message(question)
        text, excerpted = question_part(asked)
        text = _WORD.sub(lambda found: self._keyword(found.group()), text)
        expansion = self.vocabulary.expand(text)
        if subject and not self.named(expansion):
            text = f"{text} ({subject})"
            expansion = self.vocabulary.expand(text)
        # What is asked is read from the asking sentences: in "...the washing up piles up.
        # I just lie on the sofa waiting... how is that meant to get better?" the
        # "waiting" of the story does not make it a question about waiting lists.
        asking = _plain(asking_part(expansion.text))
        typed = next(((t.name, found) for t in self.rules.answer_types.values()
                      for p in t.asks if (found := p.search(asking))), None)
        answer_type = typed[0] if typed else None
        intent = next((i.name for i in self.rules.intents.values()
                       if any(p.search(asking) for p in i.asks)), None)
        implied = self.rules.answer_types[answer_type].intent if answer_type else None
        if implied is not None:
            intent = implied
        topic = self.topic_terms(expansion.text)
        story = asking != _plain(expansion.text)
        asked_terms = self.topic_terms(asking) if story else topic
        named, naming = self._naming(expansion)
        return Query(asked, text, self.language_of(asked), expansion, named, intent,
                     answer_type, excerpted, len(topic), tuple(dict.fromkeys(asked_terms)),
                     "" if named else self.unknown_treatment(asking),
                     self._naming_terms(naming), self.rules.counted(typed[1]) if typed else (),
                     story)

    def _naming_terms(self, phrases: tuple[str, ...]) -> frozenset[str]:
        """The stemmed words of the phrases that named a treatment, worked out once each."""
        key = " ".join(phrases)
        terms = self._terms_of_names.get(key)
        if terms is None:
            from search.lexical import content_terms

            terms = frozenset(content_terms(key)) if key else frozenset()
            self._terms_of_names[key] = terms
        return terms

    def unknown_treatment(self, asking: str) -> str:
        """A treatment named in ``asking`` that our pages never mention: a word fused
        with "therapy" or put before "therapy", "treatment", "counselling" or "clinic",
        that no page of ours has ("hypnotherapy", "equine therapy")."""
        for found in _TREATMENT_NAME.finditer(asking):
            # the fused word itself ("physiotherapy" may be ours), else the word before
            word = found.group(0) if found.group(1) else found.group(2)
            if len(word) >= 5 and word not in self.rules.english_words \
                    and not self._known_word(word) and not self.vocabulary.knows(word):
                return found.group(0)
        return ""

    def topic_terms(self, text: str) -> list[str]:
        """The stemmed content words of ``text`` outside the intents' and answer types'
        own ("cbt waitng time?" → cbt, time)."""
        from search.lexical import meaning_terms

        rest = self.rules.asking_words.sub(" ", _plain(text))
        words = re.findall(r"[^\W_]+", rest)
        return meaning_terms(" ".join(w for w in words if w not in self.rules.fillers))

    def named(self, expansion: Expansion) -> frozenset[str]:
        """Documents whose title or acronym the question names (``_naming``)."""
        return self._naming(expansion)[0]

    def _naming(self, expansion: Expansion) -> tuple[frozenset[str], tuple[str, ...]]:
        """The documents the question names, and the phrases that name them: a title or an
        acronym ("couples therapy", "DBT"), or words the vocabulary reads as one
        ("gsh", "electroshock" → electroconvulsive therapy). A phrase within a longer
        name adds nothing: the "CBT" of "trauma-focused CBT"."""
        names = self._names_in(expansion.text)
        found = {doc for _, docs in names for doc in docs}
        phrases = [name for name, _ in names]
        for phrase, terms in expansion.phrases:
            key = f" {name_key(phrase)} "
            if any(key in f" {name} " and key != f" {name} " for name, _ in names):
                continue
            docs = {doc for term in terms for doc in self._term_names(term)}
            if docs:
                found |= docs
                phrases.append(phrase)
        return frozenset(found), tuple(phrases)

    def _term_names(self, term: str) -> frozenset[str]:
        """The documents a vocabulary term names ("guided self-help"), worked out once."""
        docs = self._names_of_term.get(term)
        if docs is None:
            docs = frozenset(doc for _, ids in self._names_in(term) for doc in ids)
            self._names_of_term[term] = docs
        return docs

    def _names_in(self, text: str) -> list[tuple[str, set[str]]]:
        """The names in ``text`` as it spells them, each with the documents it names. A
        name within a longer one names nothing of its own: "trauma-focused CBT" is not
        also "CBT", nor "CBT for insomnia"."""
        words = name_key(text).split()
        # "bereavment counseling": each word also read as the name word it misspells, for
        # names of two words or more only.
        spelt = [self._name_word(w) for w in words]
        found: list[tuple[int, int, set[str]]] = []
        for size in range(min(len(words), MAX_NAME_WORDS), 0, -1):
            for start in range(len(words) - size + 1):
                end = start + size
                if found and any(s <= start and end <= e for s, e, _ in found):
                    continue
                docs = set(self.names.get(" ".join(words[start:end]), ()))
                if size >= 2:
                    docs |= self._long_names.get(" ".join(spelt[start:end]), set())
                if docs:
                    found.append((start, end, docs))
        return [(" ".join(words[s:e]), docs) for s, e, docs in found]

    def _keyword(self, word: str) -> str:
        """The asking keyword ``word`` misspells ("waitin" → "waiting"), if it is five
        letters or more and neither English nor a word of our pages; else ``word``."""
        lower = word.lower()
        if len(lower) < 5 or lower in self.rules.english_words or self._known_word(lower):
            return word
        known = self._keyword_of.get(lower)
        if known is None:
            import difflib

            from search.lexical import content_terms

            close = difflib.get_close_matches(lower, self.rules.keywords, n=1, cutoff=0.85)
            # "weekends" is not a misspelling of "weekend": the same stem, another form.
            misspelt = close and content_terms(close[0]) != content_terms(lower)
            known = self._keyword_of[lower] = close[0] if misspelt else word
        return known

    def _name_word(self, word: str) -> str:
        """The word of a long name that ``word`` is, or misspells; else ``word``."""
        if word in self._name_words or len(word) < 5:
            return word
        known = self._misspelt.get(word)
        if known is None:
            import difflib

            close = difflib.get_close_matches(word, self._name_words_by_letter.get(word[0], []),
                                              n=1, cutoff=0.85)
            known = self._misspelt[word] = close[0] if close else word
        return known

    def language_of(self, text: str) -> str:
        """"en" when most of its words are English or ours ("cbt waitng time?" included);
        otherwise what py3langid says, among the languages it knows."""
        letters = [ch for ch in text if ch.isalpha()]
        if not letters:
            return ENGLISH
        latin = sum(ch.isascii() or "\u00c0" <= ch <= "\u024f" for ch in letters)
        if latin / len(letters) >= 0.5:
            words = [w for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) > 2]
            if not words:
                return ENGLISH
            known = sum(w in self.rules.english_words or self._known_word(w) for w in words)
            if known / len(words) >= KNOWN_SHARE:
                return ENGLISH
            return _identify(text)
        return str(_identifier().classify(text)[0])  # another script: not English


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _identify(text: str) -> str:
    """py3langid's language when it is sure (probability ≥ ``LANGUAGE_SURE``): on
    shorthand it guesses wildly but unsurely ("shout txt line no.?": Walloon, 0.18)."""
    language, probability = _identifier().classify(text)
    return str(language) if probability >= LANGUAGE_SURE else ENGLISH


_WORD = re.compile(r"[^\W\d_]+")
_TREATMENT_NAME = re.compile(
    r"\b([a-z]+)therap(?:y|ies)\b"
    r"|\b([a-z]+)[ -](?:therapy|therapies|treatment|counselling|clinic|infusions?)\b")


def _plain(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("‘", "'").lower().split())
