"""`moderate` (one text and/or image, or a JSONL batch) and `eval moderation`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from assistant.cli import UserError, emit, state


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _merge(text_verdict: dict[str, Any] | None, image_verdict: dict[str, Any] | None) -> dict[str, Any]:
    """One verdict for a message that carries both text and an image: the stricter decision, all scores."""
    from moderation.verdict import stricter

    if text_verdict is None or image_verdict is None:
        return text_verdict or image_verdict or {}
    merged = dict(text_verdict)
    merged["decision"] = stricter(text_verdict["decision"], image_verdict["decision"])
    merged["categories"] = {**text_verdict["categories"], **image_verdict["categories"]}
    merged["flags"] = [*text_verdict["flags"], *image_verdict["flags"]]
    merged["review_id"] = text_verdict["review_id"] or image_verdict["review_id"]
    return merged


def _human(verdict: dict[str, Any]) -> str:
    scores = ", ".join(f"{k}={v:.2f}" for k, v in verdict["categories"].items() if v >= 0.05)
    lines = [f"decision: {verdict['decision']}", f"flags: {', '.join(verdict['flags']) or '-'}", f"scores: {scores}"]
    if verdict.get("redacted_text") is not None:
        lines.append(f"redacted: {verdict['redacted_text']}")
    return "\n".join(lines)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @app.command("moderate")
    def moderate(
        text: str | None = typer.Argument(None, help="The text to check."),
        image: Path | None = typer.Option(None, "--image", help="An image file to check."),
        batch: Path | None = typer.Option(None, "--batch", help='JSONL of {"id", "text"} or {"id", "image_path"}.'),
        user: str | None = typer.Option(None, "--user", help="The sender's user id (strikes, cooldown)."),
        source: str = typer.Option("cli", "--source", help="Where the input came from, for the review queue."),
        as_json: bool = typer.Option(False, "--json", help="One JSON verdict per line."),
    ) -> None:
        """Check text and/or an image and print the moderation verdict."""
        from assistant.runtime import Runtime
        from moderation.image_checks import ImageRejected

        if batch is not None:
            if text is not None or image is not None:
                raise UserError("give either --batch FILE or TEXT/--image, not both")
            _run_batch(Runtime(state.settings).moderator, batch, user, source)
            return
        if text is None and image is None:
            raise UserError("nothing to check: give TEXT, --image PATH or --batch FILE")
        if text is not None and not text.strip():
            raise UserError("the text is empty")
        image_bytes = _read_bytes(image) if image is not None else None
        moderator = Runtime(state.settings).moderator
        text_verdict = moderator.check_text(text, user_id=user, source=source).model_dump() if text else None
        image_verdict = None
        if image_bytes is not None and image is not None:
            try:
                image_verdict = moderator.check_image(
                    image_bytes, filename=image.name, user_id=user, source=source
                ).model_dump()
            except ImageRejected as exc:
                raise UserError(f"{image}: {exc}") from exc
        verdict = _merge(text_verdict, image_verdict)
        if as_json:
            emit(verdict)
        else:
            typer.echo(_human(verdict))

    @eval_app.command("moderation")
    def eval_moderation(
        data: Path | None = typer.Option(None, "--data", help="Folder of moderation sets (default ../shared/data)."),
        out: Path = typer.Option(Path("reports/moderation"), "--out", help="Report folder."),
        limit: int | None = typer.Option(None, "--limit", help="At most this many examples per set (quick runs)."),
    ) -> None:
        """Per-category precision/recall/F1/AUPRC on each set, latency, and precision-recall curves."""
        from assistant.evals.moderation import default_data_dir, run_moderation_eval

        data_dir = data or default_data_dir()
        if not data_dir.is_dir():
            raise UserError(f"data folder not found: {data_dir}")
        if limit is not None and limit < 1:
            raise UserError("--limit must be at least 1")
        try:
            summary = run_moderation_eval(data_dir, out, limit=limit)
        except (FileNotFoundError, ValueError) as exc:
            raise UserError(str(exc)) from exc
        emit(summary)


def _run_batch(moderator: Any, path: Path, user: str | None, source: str) -> None:
    from moderation.image_checks import ImageRejected

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from exc
    for row_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item_id: Any = None
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("each line must be a JSON object")
            item_id = row.get("id")
            if isinstance(row.get("text"), str) and row["text"].strip():
                verdict = moderator.check_text(row["text"], user_id=user, source=source).model_dump()
            elif isinstance(row.get("image_path"), str):
                image_path = Path(row["image_path"])
                image_path = image_path if image_path.is_absolute() else path.parent / image_path
                verdict = moderator.check_image(
                    image_path.read_bytes(), filename=image_path.name, user_id=user, source=source
                ).model_dump()
            else:
                raise ValueError('a line needs a non-empty "text" or an "image_path"')
        except (ValueError, OSError, ImageRejected) as exc:
            # A bad line is reported in place and the rest of the batch goes on.
            message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            emit({"id": item_id, "row": row_number, "error": message})
            print(f"row {row_number}: {message}", file=sys.stderr)
            continue
        emit({"id": item_id, **verdict})
