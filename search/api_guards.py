"""What stands in front of every API request: a per-key rate limit, a body size limit,
and the one log line a request leaves (never its question)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse

log = logging.getLogger("search.api")


class Plain(JSONResponse):
    """A response of plain JSON types (``as_dict`` records), written by ``json.dumps`` as
    it is: FastAPI's own encoder walks every value again."""


def error_response(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


class RateLimiter:
    """A token bucket per key: ``rate`` requests a minute, bursts up to ``rate / 6``
    (ten seconds' worth). Per worker process."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rate: int) -> float:
        """0 when allowed now; else the seconds to wait."""
        capacity = max(1.0, rate / 6)
        now = time.monotonic()
        with self._lock:
            tokens, since = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - since) * rate / 60)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) * 60 / rate


class RequestLog:
    """One log line per request: method, path, status, time, key id and the question's
    length. Never the question, never a body."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sent(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            state = scope.get("state", {})
            log.info("%s %s %s %.0fms key=%s chars=%s", scope["method"], scope["path"],
                     status, (time.perf_counter() - started) * 1000,
                     state.get("key_id", "-"), state.get("chars", "-"))


class BodyLimit:
    """Refuses a request body over ``limit`` bytes (413): at once when its Content-Length
    says so, else as soon as a chunked body has sent that much."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = f"The request body is over {self.limit:,} bytes (max_body_bytes)."
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await error_response(413, too_large)(scope, receive, send)
            return
        received = 0

        async def limited() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, too_large)
            return message

        await self.app(scope, limited, send)
