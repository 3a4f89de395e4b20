#!/usr/bin/env bash
# The test command: the default suite on embedded defaults (local Chroma, SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
python3 -m ruff check .
python3 -m pytest "$@"
