"""The answerer over an index folder's published generation, held once per process.

A front end (the Streamlit app, a web API) asks ``ServedIndex.answerer()`` on every
request. The cheap, torch-free ``read_manifest`` notices a newly published generation,
which then opens beside the old one: requests already holding the old answerer finish on
it, and no request sees a half-switched index. At most ``keep`` generations stay open.

Values worked out from one generation (the coverage matrices, the service's own numbers;
the disagreements across pages are the answerer's own, ``Answerer.facts``) are kept with
it by ``derived``, so they are computed once per generation, not
once per user. Nothing here is in Streamlit's caches, which any client can clear for
everyone (its "clear cache" message drops ``st.cache_resource``): a client can no
longer unload the model and index from under the other users.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from search.config import Settings

if TYPE_CHECKING:
    from search.answer import Answerer

T = TypeVar("T")


class ServedIndex:
    """One index folder's served generations, opened on first use."""

    def __init__(self, folder: Path | str, settings: Settings | None = None,
                 keep: int = 2) -> None:
        self.folder = Path(folder)
        self.settings = settings or Settings()
        self.keep = keep
        self._open: OrderedDict[str, Answerer] = OrderedDict()
        self._derived: dict[tuple[str, Hashable], Any] = {}
        self._computing: dict[tuple[str, Hashable], threading.Lock] = {}
        self._started: set[tuple[str, Hashable]] = set()
        self._lock = threading.Lock()
        #: How many generations this process has opened (a reopen is a cost users feel).
        self.opened = 0

    def answerer(self) -> Answerer:
        """The answerer over the generation published now. Raises ``SearchError`` (with
        what to do) when the folder has no index or it cannot be opened."""
        from search.index import current_generation, read_manifest

        # The pointer alone (25 µs) says whether the generation is one already open; only
        # a new one has its manifest read and checked (0.3 ms on the shipped index).
        pointer = current_generation(self.folder)
        if pointer is not None:
            with self._lock:
                found = self._open.get(pointer.name)
            if found is not None:
                return found
        return self.answerer_for(read_manifest(self.folder).generation)

    def answerer_for(self, generation: str) -> Answerer:
        with self._lock:
            found = self._open.get(generation)
            if found is not None:
                self._open.move_to_end(generation)
                return found
        # Opened outside the lock: a slow open must not hold up requests on the old one.
        # Two requests may race to open the same new generation; the first one kept wins.
        from search.answer import Answerer
        from search.retrieval import open_searcher

        opened = Answerer(open_searcher(self.folder, self.settings), self.settings.answer)
        with self._lock:
            kept = self._open.setdefault(generation, opened)
            if kept is opened:
                self.opened += 1
            self._open.move_to_end(generation)
            while len(self._open) > self.keep:
                dropped, _ = self._open.popitem(last=False)
                self._derived = {k: v for k, v in self._derived.items() if k[0] != dropped}
                self._started = {slot for slot in self._started if slot[0] != dropped}
            return kept

    def derived(self, answerer: Answerer, key: Hashable,
                compute: Callable[[Answerer], T]) -> T:
        """``compute(answerer)``, worked out once per generation and ``key``: a second
        caller meanwhile waits for the first one's result rather than computing it too."""
        slot = (answerer.searcher.generation, key)
        with self._lock:
            if slot in self._derived:
                return self._derived[slot]
            computing = self._computing.setdefault(slot, threading.Lock())
        with computing:
            with self._lock:
                if slot in self._derived:
                    return self._derived[slot]
            value = compute(answerer)
            with self._lock:
                self._computing.pop(slot, None)
                if answerer.searcher.generation in self._open:
                    self._derived[slot] = value
            return value

    def service_numbers(self, answerer: Answerer) -> frozenset[str]:
        """The phone numbers this generation's pages give (``contacts.numbers_in``): the
        service's own, which feedback keeps while it masks callers'."""
        from search.contacts import numbers_in

        return self.derived(answerer, "service numbers", lambda current: numbers_in(
            stored.document.text for stored in current.documents.values()))

    def ready(self, answerer: Answerer, key: Hashable) -> bool:
        """Whether ``derived`` of this key is already worked out for this generation."""
        with self._lock:
            return (answerer.searcher.generation, key) in self._derived

    def prepare(self, answerer: Answerer, key: Hashable,
                compute: Callable[[Answerer], Any]) -> None:
        """Start working ``derived`` out in the background (once per generation and key),
        so that the first person to need it finds it ready, or nearly."""
        slot = (answerer.searcher.generation, key)
        with self._lock:
            if slot in self._derived or slot in self._computing or slot in self._started:
                return
            self._started.add(slot)
        threading.Thread(target=self.derived, args=(answerer, key, compute), daemon=True,
                         name=f"prepare {key!r}").start()


_PROCESS: dict[tuple[str, Settings], ServedIndex] = {}
_PROCESS_LOCK = threading.Lock()


def served_index(folder: Path | str, settings: Settings) -> ServedIndex:
    """The process's one ``ServedIndex`` for this folder and these settings."""
    key = (str(Path(folder).resolve()), settings)  # Settings is frozen: hashable
    with _PROCESS_LOCK:
        served = _PROCESS.get(key)
        if served is None:
            served = _PROCESS[key] = ServedIndex(folder, settings)
        return served


def forget_served_indexes() -> None:
    """Close every ``ServedIndex`` of this process (tests start from cold with it)."""
    with _PROCESS_LOCK:
        _PROCESS.clear()

