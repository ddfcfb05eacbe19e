"""API keys: issued once, stored only as salted hashes, checked in constant time.

A key reads ``tsk_<id>_<secret>``: the id finds its record, the 32-byte random secret is
what proves it. The file (JSON, mode 0600) keeps per key its id, a name saying who holds
it ("telephony", "intranet"), a random salt, HMAC-SHA256(salt, secret), when it was
issued, when it was revoked, and its rate limit. The secret itself is printed once, by
``python -m search keys issue``, and never stored: a copy of the file lets nobody in.
A single salted HMAC, not a slow password hash, because the secrets are random 256-bit
values, not guessable passwords, and every request checks one.

    python -m search keys issue --name telephony [--rate 300] [--file FILE]
    python -m search keys list [--file FILE]
    python -m search keys revoke ID [--file FILE]
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from search.errors import ConfigError

_KEY = re.compile(r"^tsk_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    salt: str
    digest: str
    issued: str
    revoked: str | None = None
    #: Requests per minute (per worker process); None: the API's default.
    rate_per_minute: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


class KeyFile:
    """The keys of one file, read when it changes (a revoke reaches running servers)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._keys: dict[str, ApiKey] = {}
        self._stamp: tuple[int, int] | None = None

    def keys(self) -> dict[str, ApiKey]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._keys, self._stamp = {}, None
            return {}
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp != self._stamp:
            self._keys, self._stamp = _read(self.path), stamp
        return self._keys

    def check(self, presented: str) -> ApiKey | None:
        """The active key ``presented`` is, or None. Never says which part was wrong."""
        found = _KEY.match(presented.strip())
        if not found:
            return None
        key = self.keys().get(found.group(1))
        if key is None or not key.active:
            # Spend the same work on an unknown id as on a known one.
            hmac.compare_digest(_digest("0" * 32, found.group(2)), "0" * 64)
            return None
        return key if hmac.compare_digest(_digest(key.salt, found.group(2)), key.digest) \
            else None

    def issue(self, name: str, rate_per_minute: int | None = None) -> tuple[ApiKey, str]:
        """A new key: its record, and the key itself (shown once, stored nowhere)."""
        if not name.strip():
            raise ConfigError("give the key a --name saying who holds it (e.g. telephony)")
        if rate_per_minute is not None and rate_per_minute <= 0:
            raise ConfigError(f"--rate must be positive, got {rate_per_minute}")
        keys = dict(self.keys())
        key_id = _new_id(keys)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        record = ApiKey(key_id, name.strip(), salt, _digest(salt, secret), _now(), None,
                        rate_per_minute)
        keys[key_id] = record
        self._write(keys)
        return record, f"tsk_{key_id}_{secret}"

    def revoke(self, key_id: str) -> ApiKey:
        keys = dict(self.keys())
        if key_id not in keys:
            raise ConfigError(f"No key with id '{key_id}' in {self.path}; see: python -m search "
                              "keys list")
        keys[key_id] = replace(keys[key_id], revoked=keys[key_id].revoked or _now())
        self._write(keys)
        return keys[key_id]

    def _write(self, keys: dict[str, ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"keys": [asdict(k) for k in keys.values()]}, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        self._stamp = None


def _read(path: Path) -> dict[str, ApiKey]:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        keys = {}
        for item in raw["keys"]:
            key = ApiKey(**item)
            keys[key.id] = key
        return keys
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"The API key file '{path}' cannot be read ({error}). Restore it, "
                          "or issue new keys: python -m search keys issue --name NAME") \
            from error


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def _new_id(keys: dict[str, ApiKey]) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    while True:
        key_id = "".join(secrets.choice(alphabet) for _ in range(8))
        if key_id not in keys:
            return key_id


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
