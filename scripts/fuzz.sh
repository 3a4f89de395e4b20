#!/usr/bin/env bash
# The wide random search behind the property-based tests: hypothesis's "fuzz" profile (10,000 examples a target,
# a fresh random seed each run, failures remembered in .hypothesis/ and tried first next time), over the input
# fuzzers and the API schema. The test command runs the same tests on the derandomized "ci" profile instead.
#   bash scripts/fuzz.sh                 every fuzz target
#   bash scripts/fuzz.sh -k pii          a subset (any pytest arguments)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${COMMERCE_VENV:-.venv}
export PATH="$(cd "$venv" && pwd)/bin:$PATH" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
export HYPOTHESIS_PROFILE=fuzz
python -m pytest tests/test_fuzz_inputs.py tests/test_api_schemathesis.py --hypothesis-show-statistics \
  --timeout 0 "$@"
