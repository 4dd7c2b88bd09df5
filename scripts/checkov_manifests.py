"""Checkov's Kubernetes checks on the manifests the program renders (scripts/checkov_manifests.sh runs this).

`render OUTDIR`: every stack's Kubernetes objects from `tusk-infra preview --all-stacks --format json`, one
multi-document YAML file per stack (values known only after deploy become a placeholder name; masked secret
data is left out: checkov reads the objects' shape, never their values).
`judge RESULTS.json`: checkov's JSON report against the failures this project accepts, each with its reason
(the README's "Checkov" section lists the same): exit 1 on any other failure, or on an accepted one that
no longer fails (the list must shrink with the manifests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

UNKNOWN_MARK = "(known after deploy)"
SECRET_MASK = "[secret]"
PLACEHOLDER = "known-after-deploy"

# check id -> why the rendered manifests do not pass it (kept in step with the README's list).
ACCEPTED: dict[str, str] = {
    "CKV_K8S_35": "the seed manifest passes the database and Redis credentials as environment variables "
    "(secretKeyRef), which the app reads; secrets as files would need the app to change",
}


def _plain(value: Any) -> Any:
    if value == UNKNOWN_MARK:
        return PLACEHOLDER
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item != SECRET_MASK}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def render(outdir: Path, project: Path) -> int:
    """Write each stack's Kubernetes objects as <stack>.yaml; the number of objects written."""
    preview = subprocess.run(
        [str(project / ".venv/bin/tusk-infra"), "preview", "--all-stacks", "--format", "json"],
        cwd=project, capture_output=True, text=True, check=True,
    )
    plan = json.loads(preview.stdout)
    outdir.mkdir(parents=True, exist_ok=True)
    count = 0
    for stack in plan["stacks"]:
        manifests = [_plain(r["inputs"]) for r in stack["resources"] if r["type"].startswith("kubernetes:")]
        (outdir / f"{stack['stack']}.yaml").write_text(yaml.safe_dump_all(manifests, sort_keys=True))
        count += len(manifests)
    return count


def judge(results_path: Path) -> int:
    """0 when checkov failed exactly the accepted checks (each somewhere), else 1, with what differs."""
    data = json.loads(results_path.read_text())
    reports = data if isinstance(data, list) else [data]
    failed: dict[str, set[str]] = {}
    passed = 0
    for report in reports:
        results = report.get("results", {})
        passed += len(results.get("passed_checks", []))
        for check in results.get("failed_checks", []):
            failed.setdefault(check["check_id"], set()).add(f"{check['file_path']} {check['resource']}")
    unexpected = sorted(set(failed) - set(ACCEPTED))
    stale = sorted(set(ACCEPTED) - set(failed))
    print(f"checkov: {passed} passed checks, {sum(map(len, failed.values()))} failed ({len(failed)} check ids)")
    for check_id in sorted(failed):
        verdict = f"accepted: {ACCEPTED[check_id]}" if check_id in ACCEPTED else "NOT ACCEPTED"
        print(f"  {check_id} ({verdict})")
        for where in sorted(failed[check_id]):
            print(f"    {where}")
    for check_id in stale:
        print(f"  {check_id} is accepted but no longer fails: remove it from ACCEPTED and the README")
    return 1 if unexpected or stale else 0


def main(argv: list[str]) -> int:
    command, target = argv[1], Path(argv[2])
    if command == "render":
        project = Path(__file__).resolve().parent.parent
        print(f"rendered {render(target, project)} Kubernetes objects into {target}")
        return 0
    return judge(target)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
