#!/usr/bin/env bash
# Set up everything the test suite needs, then run it. This is the README's test command, and .ci/run calls it.
#   - system packages: Java (ODK Validate, shipped inside pyxform), Node.js/npm (SurveyJS's survey-core) and
#     Chromium (tests/test_browser.py opens the report and the questionnaires in it)
#   - a virtual environment .venv with iasem and its test extras
#   - tests/js/node_modules from the committed package-lock.json
# Arguments are passed on to pytest, e.g. `bash scripts/test.sh -k xlsform`.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]})); then
    echo "Installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    # pytest's "no tests collected": say so plainly instead of failing with an unexplained code.
    echo "pytest collected no tests (exit code 5); nothing failed."
    exit 0
fi
exit "$status"
