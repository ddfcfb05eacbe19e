"""Build or refresh a search index: ``python ingest.py PATH... --index DIR``."""

from search.cli import ingest_main

if __name__ == "__main__":
    raise SystemExit(ingest_main())
