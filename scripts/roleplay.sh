#!/usr/bin/env bash
# A role-play round (docs/roleplay.md), as `commerce-assistant eval roleplay` runs it:
#   bash scripts/roleplay.sh prepare RUN_DIR [BACKEND [GROUPS [BASE_PORT]]]   data dirs, one `serve` per group,
#        RUN_DIR/manifest.json and RUN_DIR/players.md (BACKEND: none | auto:0.5b | auto, the 1.5B default; GROUPS 4;
#        group N serves on BASE_PORT + N, BASE_PORT 7900)
#   bash scripts/roleplay.sh score MANIFEST... [--out DIR]                      per-task table and pass^1 per backend
#   bash scripts/roleplay.sh stop MANIFEST...                                   ends the round's servers
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${COMMERCE_VENV:-.venv}
[[ -x $venv/bin/python ]] || { echo "roleplay: no environment at $venv; run bash scripts/install.sh --eval" >&2; exit 1; }
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
ca=("$venv/bin/python" -m assistant)
step=${1:-}
shift || true
case "$step" in
  prepare)
    [[ $# -ge 1 ]] || { echo "usage: $0 prepare RUN_DIR [BACKEND [GROUPS [BASE_PORT]]]" >&2; exit 2; }
    "${ca[@]}" --llm "${2:-none}" eval roleplay --prepare "$1" --groups "${3:-4}" --base-port "${4:-7900}" ;;
  score) "${ca[@]}" eval roleplay "$@" ;;
  stop) "${ca[@]}" eval roleplay --stop "$@" ;;
  *) echo "usage: $0 prepare RUN_DIR [BACKEND [GROUPS [BASE_PORT]]] | score MANIFEST... [--out DIR] | stop MANIFEST..." >&2
     exit 2 ;;
esac
