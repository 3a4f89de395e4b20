"""The HTTP API: `create_app(runtime)` builds the FastAPI app."""

from ui.api.app import create_app

__all__ = ["create_app"]
