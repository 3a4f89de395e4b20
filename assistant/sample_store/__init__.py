"""The demo store shipped with the app (retail-store folder format), loaded by `serve` when no catalog exists."""
