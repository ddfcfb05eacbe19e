"""The HTTP API: the same answers as ``python -m search ask --json``, for the call
centre's own software (telephony, CRM, an intranet).

    python -m search serve --index DIR [--host 127.0.0.1] [--port 8000] [--workers N]

Versioned under ``/v1``; OpenAPI at ``/v1/openapi.json``, documentation at ``/v1/docs``.
Every endpoint but ``/v1/health`` and ``/v1/ready`` needs a key (``search.api_keys``), as
``Authorization: Bearer KEY`` or ``X-API-Key: KEY``. Each worker process holds the index
once (``search.serving``, memory-mapped), picks up a newly published generation on the
next request without a restart, and answers each request from one whole generation.

Questions never reach a log: a request is logged with its path, status, time, key id and
the question's length only. Crisis messages are not stored, in the gap list or as
feedback. CORS is off unless origins are configured.
"""

import logging
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from search.answer import Answerer
from search.api_guards import BodyLimit, Plain, RateLimiter, RequestLog, error_response
from search.api_keys import ApiKey, KeyFile
from search.config import Mode, Settings
from search.errors import ConfigError, QueryError, SearchError
from search.feedback import FeedbackStore
from search.retrieval import Filters
from search.serving import ServedIndex

log = logging.getLogger("search.api")
API_VERSION = "v1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scope(_Strict):
    doc_ids: list[str] = Field(default_factory=list, max_length=100,
                               description="only these documents (GET /v1/documents)")
    sections: list[str] = Field(default_factory=list, max_length=20,
                                description="only sections whose heading contains one")


class AskRequest(_Strict):
    question: str = Field(min_length=1, description="a question in the caller's words")
    mode: Mode | None = None
    filters: Scope = Field(default_factory=Scope)


class SearchRequest(_Strict):
    query: str = Field(min_length=1)
    k: int = Field(default=5, ge=1, le=50)
    mode: Mode | None = None
    filters: Scope = Field(default_factory=Scope)


class FeedbackRequest(_Strict):
    question: str = Field(min_length=1)
    answer: str = Field(default="", max_length=20_000)
    verdict: Literal["helpful", "not_helpful", "wrong_passage"]
    comment: str = Field(default="", max_length=2_000)
    passage: str = Field(default="", max_length=500, description="a chunk_id")


def create_app(index_dir: Path | str, settings: Settings | None = None) -> FastAPI:
    """The API over ``index_dir``'s published index."""
    settings = settings or Settings()
    api = settings.api
    served = ServedIndex(index_dir, settings)
    keys = KeyFile(api.keys_file_for(index_dir))
    limiter = RateLimiter()
    feedback = (FeedbackStore(settings.feedback.database_for(index_dir))
                if settings.feedback.enabled else None)
    app = FastAPI(title="Treatment search API", version="1.0",
                  description=__doc__.split("\n\n")[0],
                  openapi_url=f"/{API_VERSION}/openapi.json", docs_url=f"/{API_VERSION}/docs",
                  redoc_url=None)
    app.state.served = served
    if api.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(api.cors_origins),
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"])

    app.add_middleware(BodyLimit, limit=api.max_body_bytes)

    app.add_middleware(RequestLog)

    @app.exception_handler(QueryError)
    async def query_error(request: Request, error: QueryError) -> JSONResponse:
        return error_response(422, str(error))

    @app.exception_handler(SearchError)
    async def search_error(request: Request, error: SearchError) -> JSONResponse:
        return error_response(503, f"The index cannot be served: {error}")

    def authorised(request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        presented = header[7:] if header[:7].lower() == "bearer " else \
            request.headers.get("x-api-key", "")
        try:
            key = keys.check(presented) if presented else None
        except ConfigError as error:
            log.error("%s", error)
            key = None
        if key is None:
            raise HTTPException(401, "A valid API key is needed: send it as 'Authorization: "
                                     "Bearer KEY'. Keys are issued with: python -m search "
                                     "keys issue --name NAME",
                                headers={"WWW-Authenticate": "Bearer"})
        request.state.key_id = key.id
        wait = limiter.take(key.id, key.rate_per_minute or api.rate_per_minute)
        if wait:
            raise HTTPException(429, "Too many requests for this key; try again shortly.",
                                headers={"Retry-After": str(math.ceil(wait))})
        return key

    def answerer() -> Answerer:
        return served.answerer()

    # Annotations are evaluated as the endpoints are defined (no postponed annotations in
    # this module), so FastAPI sees these dependencies, not names it cannot resolve.
    Key = Annotated[ApiKey, Depends(authorised)]
    Current = Annotated[Answerer, Depends(answerer)]

    def question_text(request: Request, text: str) -> str:
        request.state.chars = len(text)
        if len(text) > api.max_question_chars:
            raise HTTPException(413, f"The question is {len(text):,} characters; the most "
                                     f"is {api.max_question_chars:,}.")
        if not text.strip():
            raise HTTPException(422, "The question is empty.")
        return text

    @app.get(f"/{API_VERSION}/health", tags=["service"])
    def health() -> dict[str, str]:
        """The process is up. Needs no key."""
        return {"status": "ok"}

    @app.get(f"/{API_VERSION}/ready", tags=["service"])
    def ready() -> JSONResponse:
        """An index is published and loads: 200, else 503 with what to do. Needs no key."""
        try:
            current = served.answerer()
        except SearchError as error:  # the details (server paths) go to the log, not out
            log.error("not ready: %s", error)
            return JSONResponse({"ready": False, "error": f"{type(error).__name__}: the "
                                 "index cannot be served; see the server's log"},
                                status_code=503)
        return JSONResponse({"ready": True, "generation": current.searcher.generation,
                             "documents": len(current.searcher.snapshot.documents)})

    @app.post(f"/{API_VERSION}/ask", tags=["answers"])
    def ask(body: AskRequest, request: Request, key: Key,
            current: Current) -> Plain:
        """An answer quoted from our pages, with citations and the crisis check: the
        record of ``python -m search ask --json``."""
        text = question_text(request, body.question)
        answer = current.ask(text, mode=body.mode, filters=_filters(body.filters))
        if (feedback is not None and not answer.answered and not answer.safety.crisis):
            feedback.log_not_covered(answer.question, answer.answer,
                                     current.searcher.generation)
        return Plain({**answer.as_dict(), "generation": current.searcher.generation})

    @app.post(f"/{API_VERSION}/search", tags=["answers"])
    def search(body: SearchRequest, request: Request, key: Key,
               current: Current) -> Plain:
        """Ranked passages: the record of ``python -m search search --json``."""
        text = question_text(request, body.query)
        hits = current.searcher.search(text, body.k, mode=body.mode,
                                       filters=_filters(body.filters))
        return Plain({"query": text, "results": [h.as_dict() for h in hits],
                      "generation": current.searcher.generation})

    @app.get(f"/{API_VERSION}/documents", tags=["documents"])
    def documents(key: Key,
                  current: Current) -> dict[str, Any]:
        """Every served document: id, title, source file, format and section count."""
        stored = current.searcher.snapshot.documents
        return {"generation": current.searcher.generation, "documents": [
            {"doc_id": d, "title": s.document.title, "source": s.document.source,
             "format": s.document.format, "sections": len(s.document.sections)}
            for d, s in sorted(stored.items())]}

    @app.get(f"/{API_VERSION}/documents/{{doc_id:path}}", tags=["documents"])
    def document(doc_id: str, key: Key,
                 current: Current) -> dict[str, Any]:
        """One document's text and its sections with their spans (``text[start:end]``)."""
        stored = current.searcher.snapshot.documents.get(doc_id)
        if stored is None:
            raise HTTPException(404, f"No document '{doc_id}' is served; see GET "
                                     f"/{API_VERSION}/documents.")
        d = stored.document
        return {"doc_id": d.doc_id, "title": d.title, "source": d.source, "format": d.format,
                "generation": current.searcher.generation, "text": d.text,
                "sections": [{"heading": s.heading, "level": s.level,
                              "breadcrumb": list(s.breadcrumb), "slug": s.slug,
                              "heading_start": s.heading_start, "start": s.start,
                              "end": s.end, "page": d.page_at(s.start)}
                             for s in d.sections]}

    @app.post(f"/{API_VERSION}/feedback", tags=["answers"])
    def give_feedback(body: FeedbackRequest, request: Request,
                      key: Key,
                      current: Current) -> JSONResponse:
        """A verdict on an answer, stored masked (phone numbers, e-mails, NHS numbers). A
        crisis message is never stored."""
        text = question_text(request, body.question)
        if feedback is None:
            return JSONResponse({"stored": False, "reason": "feedback is switched off"},
                                status_code=409)
        said = f"{text}\n{body.comment}"
        if current.crisis.check(said, current.searcher.embedder,
                                english=current.searcher.analyse(text).english).crisis:
            return JSONResponse({"stored": False, "reason": "crisis messages are never "
                                 "stored"}, status_code=200)
        record = feedback.record(text, body.answer, body.verdict, body.comment,
                                 current.searcher.generation, body.passage,
                                 served.service_numbers(current))
        return JSONResponse({"stored": True, "id": record.id}, status_code=201)

    return app


def _filters(scope: Scope) -> Filters | None:
    if not scope.doc_ids and not scope.sections:
        return None
    return Filters(frozenset(scope.doc_ids), tuple(scope.sections))


# --- serving, several workers -----------------------------------------------------------

#: ``serve`` hands its settings to the worker processes through these variables.
ENV_INDEX = "SEARCH_API_INDEX"
ENV_KEYS = "SEARCH_API_KEYS"
ENV_CORS = "SEARCH_API_CORS"
ENV_FEEDBACK_DB = "SEARCH_API_FEEDBACK_DB"
ENV_WORKERS = "SEARCH_API_WORKERS"


def app_from_environment() -> FastAPI:
    """The app a uvicorn worker builds (``factory=True``): the edge where the environment
    is read, as the CLI and the Streamlit app's state are."""
    import os

    from search.config import ApiSettings, FeedbackSettings
    from search.embedding import set_threads

    set_threads(1)  # one intra-op thread per worker: the workers share the cores
    if not log.handlers:  # one line per request, beside uvicorn's own (its access log is off)
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    index = os.environ[ENV_INDEX]
    keys = os.environ.get(ENV_KEYS)
    cors = tuple(o for o in os.environ.get(ENV_CORS, "").split(",") if o)
    database = os.environ.get(ENV_FEEDBACK_DB)
    workers = int(os.environ.get(ENV_WORKERS, "1"))
    settings = Settings().with_changes(
        # The workers share the cores: each model gets its share, not all of them.
        query_model_threads=max(1, (os.cpu_count() or 1) // workers),
        api=ApiSettings(keys_file=Path(keys) if keys else None, cors_origins=cors),
        feedback=FeedbackSettings(database=Path(database) if database else None))
    return create_app(index, settings)
