#!/bin/sh
# Checkov's Kubernetes checks on every stack's rendered Kubernetes objects (offline preview).
#
# checkov runs from its own virtualenv (.venv-checkov): its dependency set pins boto3/botocore 1.35 and
# packaging 23, which would downgrade the project's (botocore's region list is what aws:region is checked
# against). Exit status: 0 when checkov fails exactly the checks scripts/checkov_manifests.py accepts (the
# README lists them with their reasons), 1 otherwise.
set -eu
cd "$(dirname "$0")/.."
CHECKOV_VENV="${CHECKOV_VENV:-.venv-checkov}"
if [ ! -x "$CHECKOV_VENV/bin/checkov" ]; then
    python3 -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/pip" install --quiet 'checkov>=3.2,<4'
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
.venv/bin/python scripts/checkov_manifests.py render "$work/manifests"
# --skip-download: nothing from Prisma Cloud (offline, like the rest). --soft-fail: the verdict is the judge's (accepted failures with reasons), not checkov's exit status.
"$CHECKOV_VENV/bin/checkov" --skip-download --compact --soft-fail --framework kubernetes -d "$work/manifests" \
    -o json > "$work/results.json"
.venv/bin/python scripts/checkov_manifests.py judge "$work/results.json"
