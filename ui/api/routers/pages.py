"""The static front ends: the widget script, its demo store page, and the review console."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

UI_DIR = Path(__file__).resolve().parents[2]
WIDGET_DIR = UI_DIR / "widget"
REVIEW_DIR = UI_DIR / "review"

router = APIRouter(include_in_schema=False)


@router.get("/widget.js")
def widget_script() -> FileResponse:
    return FileResponse(
        WIDGET_DIR / "widget.js", media_type="text/javascript", headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/widget/demo")
def widget_demo() -> FileResponse:
    return FileResponse(WIDGET_DIR / "demo.html", media_type="text/html")


@router.get("/review")
def review_redirect() -> RedirectResponse:
    return RedirectResponse("/review/")


@router.get("/review/")
def review_console() -> FileResponse:
    return FileResponse(REVIEW_DIR / "index.html", media_type="text/html")


@router.get("/review/console.js")
def review_script() -> FileResponse:
    return FileResponse(REVIEW_DIR / "console.js", media_type="text/javascript")
