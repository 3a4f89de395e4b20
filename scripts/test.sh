#!/usr/bin/env bash
# The test command: the default suite on embedded defaults (local Chroma, SQLite), then the service-backed subset
# (tests marked `services`) against PostgreSQL and a Chroma server started here on loopback, then the dependency
# audit. COMMERCE_SKIP_SERVICES=1 runs the default suite only.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${COMMERCE_VENV:-.venv}
[[ -x $venv/bin/python ]] || { echo "test: no environment at $venv; run bash scripts/install.sh --dev first" >&2; exit 1; }
# The environment's programs first (python, chroma, commerce-assistant), as if it were activated.
export PATH="$(cd "$venv" && pwd)/bin:$PATH" VIRTUAL_ENV="$(cd "$venv" && pwd)"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
python -m ruff check .

# 1. Embedded defaults: the service URLs must not leak in from the caller's environment.
env -u COMMERCE_ASSISTANT_DATABASE_URL -u COMMERCE_ASSISTANT_CHROMA_URL python -m pytest "$@"

# 2. The scale-out engines.
if [[ "${COMMERCE_SKIP_SERVICES:-0}" != 1 ]]; then
  trap 'bash scripts/services.sh stop' EXIT
  exports=$(bash scripts/services.sh start)  # a plain assignment, so a failed start fails the run
  eval "$exports"
  status=0
  python -m pytest -m services "$@" || status=$?
  # 5: the caller's selection holds no service test, which is not a failure.
  [[ $status -eq 0 || $status -eq 5 ]] || exit $status
fi

# 3. Known vulnerabilities in the installed dependencies.
python scripts/audit_deps.py
