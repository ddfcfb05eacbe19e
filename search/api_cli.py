"""``python -m search serve`` (the HTTP API) and ``python -m search keys`` (its keys)."""

from __future__ import annotations

import argparse
import json
import os
import socket
from pathlib import Path
from typing import Any

from search.config import ApiSettings, Settings
from search.errors import ConfigError

DEFAULT_PORT = 8000


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="serve the HTTP API (README, \"HTTP API\")")
    serve.add_argument("--index", required=True, type=Path, metavar="DIR")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: %(default)s, this machine only)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes, each holding the index once (default: 1)")
    serve.add_argument("--keys", type=Path, default=None, metavar="FILE",
                       help="API key file (default: api_keys.json beside the index folder)")
    serve.add_argument("--cors-origin", action="append", default=[], metavar="URL",
                       help="allow browser calls from this origin (repeatable; default: none)")
    serve.add_argument("--feedback-db", type=Path, default=None, metavar="FILE",
                       help="feedback database (default: feedback.db beside the index)")
    keys = commands.add_parser("keys", help="issue, list and revoke API keys")
    keys.add_argument("action", choices=("issue", "list", "revoke"))
    keys.add_argument("key_id", nargs="?", metavar="ID", help="the key to revoke")
    keys.add_argument("--file", type=Path, default=None, metavar="FILE",
                      help="key file (default: api_keys.json beside --index, else here)")
    keys.add_argument("--index", type=Path, default=Path("index"), metavar="DIR")
    keys.add_argument("--name", default="", help="who holds the key (issue)")
    keys.add_argument("--rate", type=int, default=None, metavar="PER_MINUTE",
                      help=f"requests a minute (default: {ApiSettings.rate_per_minute})")
    keys.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    return _serve(args) if args.command == "serve" else _keys(args)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from search.api import ENV_CORS, ENV_FEEDBACK_DB, ENV_INDEX, ENV_KEYS, ENV_WORKERS
    from search.index import read_manifest

    ApiSettings(cors_origins=tuple(args.cors_origin))  # refuse "*" before starting
    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    read_manifest(args.index)  # no index: say so now, not on the first request
    keys = args.keys or Settings().api.keys_file_for(args.index)
    if not keys.exists():
        print(f"warning: no API key file at {keys}: every request will be refused (401). "
              "Issue a key: python -m search keys issue --name NAME --index "
              f"{args.index}", flush=True)
    os.environ[ENV_INDEX] = str(args.index.resolve())
    os.environ[ENV_KEYS] = str(keys.resolve())
    os.environ[ENV_CORS] = ",".join(args.cors_origin)
    os.environ[ENV_WORKERS] = str(args.workers)
    if args.feedback_db:
        os.environ[ENV_FEEDBACK_DB] = str(args.feedback_db.resolve())
    config = uvicorn.Config("search.api:app_from_environment", factory=True, host=args.host,
                            port=args.port, workers=args.workers, access_log=False,
                            log_level="info", timeout_graceful_shutdown=10)
    if args.workers == 1:
        uvicorn.Server(config).run()
        return 0
    from uvicorn.supervisors import Multiprocess

    # uvicorn binds the shared socket with proto 0, so asyncio never sets TCP_NODELAY on
    # its connections and each keep-alive request waits ~40 ms for a delayed ACK
    # (Kludex/uvicorn#3149; measured here: 52-56 ms a request against 12 ms). Bind it
    # as TCP, and the workers' connections get TCP_NODELAY as with one worker.
    Multiprocess(config, sockets=[_tcp_socket(args.host, args.port)]).run()
    return 0


def _tcp_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise ConfigError(f"Cannot listen on {host}:{port}: {error.strerror}. Choose another "
                          "--port, or stop what is using it.") from error
    listener.set_inheritable(True)
    print(f"Serving on http://{host}:{port} with several workers (Press CTRL+C to quit)",
          flush=True)
    return listener


def _keys(args: argparse.Namespace) -> int:
    from search.api_keys import KeyFile

    path = args.file or Settings().api.keys_file_for(args.index)
    key_file = KeyFile(path)
    if args.action == "issue":
        record, key = key_file.issue(args.name, args.rate)
        if args.json:
            print(json.dumps({"id": record.id, "name": record.name, "key": key,
                              "file": str(path)}))
        else:
            print(f"Issued key {record.id} for {record.name} (written to {path}).\n"
                  f"The key, shown this once and stored nowhere:\n\n  {key}\n")
        return 0
    if args.action == "revoke":
        if not args.key_id:
            raise ConfigError("name the key to revoke: python -m search keys revoke ID")
        record = key_file.revoke(args.key_id)
        print(json.dumps({"id": record.id, "revoked": record.revoked}) if args.json else
              f"Revoked key {record.id} ({record.name}) at {record.revoked}. Running "
              "servers refuse it from their next request.")
        return 0
    rows = [{"id": k.id, "name": k.name, "issued": k.issued, "revoked": k.revoked,
             "rate_per_minute": k.rate_per_minute} for k in key_file.keys().values()]
    if args.json:
        print(json.dumps(rows))
    elif not rows:
        print(f"No keys in {path}.")
    for row in [] if args.json else rows:
        state = f"revoked {row['revoked']}" if row["revoked"] else "active"
        print(f"{row['id']}  {row['name']:<20} issued {row['issued']}  {state}")
    return 0
