"""`commerce-assistant ingest PATH`, `search QUERY | --queries FILE`, and `eval search --judgements FILE`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from assistant.cli import UserError, emit, state


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest_command(
        path: Path = typer.Argument(..., help="A catalog file, zip or folder."),
        fmt: str = typer.Option("auto", "--format", help="auto | jsonl | csv | icecat | dummyjson | retail-store"),
    ) -> None:
        """Add or update products (idempotent by product id; unchanged products are skipped)."""
        from assistant.runtime import Runtime

        emit(_ingest(Runtime(state.settings), path, fmt))

    @app.command("search")
    def search_command(
        query: str | None = typer.Argument(None, help="What to look for, e.g. 'bluetooth headphones under $50'."),
        k: int = typer.Option(10, "--k", min=1, max=1000, help="How many results."),
        user: str | None = typer.Option(
            None, "--user", help="User id, for personalized ranking where personalization is available."
        ),
        queries: Path | None = typer.Option(None, "--queries", help="A file with one query per line."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per query on stdout."),
    ) -> None:
        """Ranked products for a query (or for each line of --queries FILE, models loaded once)."""
        from assistant.runtime import Runtime

        if (query is None) == (queries is None):
            raise UserError("give either a QUERY or --queries FILE")
        if queries is not None and not queries.is_file():
            raise UserError(f"no such queries file: {queries}")
        lines = [query] if query is not None else _read_queries(queries)  # type: ignore[arg-type]
        runtime = Runtime(state.settings)
        search = _search_function(runtime, user)
        for text in lines:
            hits = search(text, k)
            if as_json:
                emit({"query": text, "results": [hit_json(h) for h in hits]})
            else:
                _print_hits(text, hits)

    @eval_app.command("search")
    def eval_search_command(
        judgements: Path = typer.Option(..., "--judgements", help="CSV: query, product_id, grade (0-3)."),
        catalog: Path | None = typer.Option(None, "--catalog", help="Ingest this catalog first."),
        out: Path = typer.Option(Path("reports/search"), "--out", help="Report folder."),
        k: int = typer.Option(50, "--k", help="Ranking depth retrieved per query."),
    ) -> None:
        """NDCG@10, Recall@10/50 and P@10 on graded judgements; writes an HTML report with a plot."""
        from assistant.evals.search import JudgementsError, evaluate, load_judgements, summarise, write_report
        from assistant.runtime import Runtime

        try:
            judged = load_judgements(judgements)
        except JudgementsError as exc:
            raise UserError(str(exc)) from exc
        runtime = Runtime(state.settings)
        ingested = _ingest(runtime, catalog, "auto") if catalog is not None else None
        searcher = runtime.searcher
        if runtime.catalog.count() == 0:
            raise UserError("the catalog is empty; pass --catalog PATH or run `commerce-assistant ingest` first")
        searcher.search("warm up", k=1)
        results = evaluate(lambda q: [h.product.id for h in searcher.search(q, k=max(k, 50))], judged)
        metrics: dict[str, Any] = {
            **summarise(results),
            "products": runtime.catalog.count(),
            "embedder": runtime.embedder.name,
        }
        if ingested is not None:
            metrics["ingest"] = {key: v for key, v in ingested.items() if key != "rejected"}
        report = write_report(results, metrics, out)
        emit({**metrics, "report": str(report)})


def _ingest(runtime: Any, path: Path, fmt: str) -> dict[str, Any]:
    from retrieval.catalog_store import EmbedderMismatchError
    from retrieval.ingest import ingest
    from retrieval.readers import CatalogFormatError, read_catalog

    try:
        result = ingest(runtime.catalog, read_catalog(path.expanduser(), fmt))
    except (CatalogFormatError, EmbedderMismatchError) as exc:
        raise UserError(str(exc)) from exc
    if result.changed:
        runtime.searcher.refresh()  # builds and saves the lexical index now, not at the first query
    return result.as_dict()


def _read_queries(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text") from exc


def _search_function(runtime: Any, user: str | None):  # type: ignore[no-untyped-def]
    """Hybrid search; with `--user`, re-ranked toward that user's profile (personalization adds its reasons)."""
    if user:
        personalized = runtime.personalized_searcher
        return lambda text, k: personalized.search(text, k=k, user_id=user)
    searcher = runtime.searcher
    return lambda text, k: searcher.search(text, k=k)


def hit_json(hit: Any) -> dict[str, Any]:
    p = hit.product
    return {"id": p.id, "title": p.title, "price": p.price, "currency": p.currency, "score": hit.score, "why": hit.why}


def _print_hits(query: str, hits: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=query, show_lines=False)
    for column in ("#", "id", "title", "price", "score", "why"):
        table.add_column(column, overflow="fold")
    for i, hit in enumerate(hits, start=1):
        price = "" if hit.product.price is None else f"{hit.product.price:.2f} {hit.product.currency}"
        table.add_row(str(i), hit.product.id, hit.product.title, price, f"{hit.score:.3f}", "; ".join(hit.why))
    Console(file=sys.stdout, width=160).print(table)
