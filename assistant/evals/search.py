"""Search evaluation against graded relevance judgements (`query, product_id, grade`, grades 0-3).

Metrics per query and averaged over the queries with at least one relevant product: NDCG@10 (gain 2^g - 1,
unjudged products count as grade 0), Recall@10 and Recall@50 (relevant = grade >= 1) and P@10.
"""

from __future__ import annotations

import csv
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.evals.report import Report, Table

RELEVANT_GRADE = 1


class JudgementsError(ValueError):
    """The judgements file is missing or malformed."""


@dataclass
class QueryResult:
    query: str
    ndcg10: float
    recall10: float
    recall50: float
    p10: float
    relevant: int
    latency_ms: float


def load_judgements(path: Path) -> dict[str, dict[str, int]]:
    """query -> {product_id: grade}. Raises JudgementsError with the line number of a bad row."""
    if not path.is_file():
        raise JudgementsError(f"no such judgements file: {path}")
    judged: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"query", "product_id", "grade"} - set(reader.fieldnames or ())
        if missing:
            raise JudgementsError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        for row in reader:
            try:
                grade = int(float(row["grade"]))
            except (TypeError, ValueError) as exc:
                raise JudgementsError(f"{path.name} line {reader.line_num}: grade {row['grade']!r}") from exc
            judged.setdefault(row["query"].strip(), {})[str(row["product_id"]).strip()] = grade
    if not judged:
        raise JudgementsError(f"{path.name}: no judgements")
    return judged


def dcg(gains: Sequence[int]) -> float:
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def score_query(query: str, ranked: Sequence[str], grades: dict[str, int], latency_ms: float) -> QueryResult:
    ideal = dcg(sorted(grades.values(), reverse=True)[:10])
    relevant = {pid for pid, g in grades.items() if g >= RELEVANT_GRADE}
    top10 = ranked[:10]
    hits10 = sum(1 for pid in top10 if pid in relevant)
    return QueryResult(
        query=query,
        ndcg10=dcg([grades.get(pid, 0) for pid in top10]) / ideal if ideal > 0 else 0.0,
        recall10=hits10 / len(relevant) if relevant else 0.0,
        recall50=sum(1 for pid in ranked[:50] if pid in relevant) / len(relevant) if relevant else 0.0,
        p10=hits10 / 10,
        relevant=len(relevant),
        latency_ms=latency_ms,
    )


def evaluate(rank: Callable[[str], list[str]], judgements: dict[str, dict[str, int]]) -> list[QueryResult]:
    """Runs RANK (query -> ranked product ids, at least 50 deep) over every judged query."""
    results = []
    for query, grades in judgements.items():
        start = time.perf_counter()
        ranked = rank(query)
        results.append(score_query(query, ranked, grades, (time.perf_counter() - start) * 1000))
    return results


def summarise(results: Sequence[QueryResult]) -> dict[str, float | int]:
    scored = [r for r in results if r.relevant > 0]
    latencies = sorted(r.latency_ms for r in results)
    return {
        "queries": len(results),
        "queries_with_relevant": len(scored),
        "ndcg@10": round(statistics.fmean(r.ndcg10 for r in scored), 4) if scored else 0.0,
        "recall@10": round(statistics.fmean(r.recall10 for r in scored), 4) if scored else 0.0,
        "recall@50": round(statistics.fmean(r.recall50 for r in scored), 4) if scored else 0.0,
        "p@10": round(statistics.fmean(r.p10 for r in scored), 4) if scored else 0.0,
        "latency_p50_ms": round(percentile(latencies, 50), 2),
        "latency_p95_ms": round(percentile(latencies, 95), 2),
    }


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * pct / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def write_report(results: Sequence[QueryResult], metrics: dict[str, object], out_dir: Path) -> Path:
    """HTML report with the per-query table and a PNG of NDCG@10 per query."""
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    scored = sorted((r for r in results if r.relevant > 0), key=lambda r: r.ndcg10)
    fig, ax = plt.subplots(figsize=(8, max(4, len(scored) * 0.18)))
    ax.barh([r.query for r in scored], [r.ndcg10 for r in scored], color="#4477aa")
    ax.axvline(float(metrics["ndcg@10"]), color="#cc3311", linestyle="--", label=f"mean {metrics['ndcg@10']}")
    ax.set_xlabel("NDCG@10")
    ax.set_xlim(0, 1)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(loc="lower right")
    fig.tight_layout()
    figure = out_dir / "ndcg_per_query.png"
    fig.savefig(figure, dpi=110)
    plt.close(fig)
    rows = [
        [
            r.query,
            r.relevant,
            round(r.ndcg10, 4),
            round(r.recall10, 4),
            round(r.recall50, 4),
            r.p10,
            round(r.latency_ms, 1),
        ]
        for r in sorted(results, key=lambda r: r.query)
    ]
    report = Report(
        title="Search evaluation",
        metrics={**metrics, "figures": [figure.name]},
        tables=[Table("Per query", ["query", "relevant", "NDCG@10", "R@10", "R@50", "P@10", "ms"], rows)],
        figures=[figure],
    )
    return report.write(out_dir)
