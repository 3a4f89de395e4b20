"""Catalog ingestion, embeddings, the Chroma store, hybrid search, user profiles and personalization.

Never imports `assistant` or `ui`: data flows ui -> assistant -> retrieval.
"""
