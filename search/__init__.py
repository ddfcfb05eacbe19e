"""Semantic search and cited answers over treatment pages."""
