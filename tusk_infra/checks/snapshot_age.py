"""`metrics-snapshot-fresh`: `tusk-infra check` says when a stack is sized from an old or made-up snapshot.

Not a CrossGuard policy: it reads the snapshot files beside the stack, not resource properties (a value in the
pod template would restart every pod on each pull), and its verdict depends on today's date, so only
`check` applies it; never the preview's plan. Advisory by default; `tusk-infra:metricsStaleness: mandatory`
makes `check` fail on it. The age limit is `tusk-infra:metricsMaxAge` (default 14d).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from tusk_policy import Enforcement, PolicyDefinition

from tusk_infra.backends.config import load_stack_settings
from tusk_infra.backends.snapshot import MetricSnapshot, example_notice, staleness
from tusk_infra.checks.apply import CheckResult
from tusk_infra.checks.findings import Finding, SourceLocation
from tusk_infra.offline.model import StackRun
from tusk_infra.stack_file import stack_file_path

SNAPSHOT_RULE = PolicyDefinition(
    id="metrics-snapshot-fresh",
    description="The metric snapshot a stack's @metrics read (metrics/<stack>.json) is observed load, pulled "
    "recently: not an example file and not older than tusk-infra:metricsMaxAge (14d by default).",
    enforcement=Enforcement.ADVISORY,
    severity="medium",
    remediation="run `tusk-infra metrics pull --stack <stack>`, review the change and commit "
    "metrics/<stack>.json",
    config_schema={},
    tags=("capacity",),
)


def add_snapshot_findings(
    result: CheckResult, runs: Sequence[StackRun], project_dir: Path, now: datetime
) -> None:
    """Each stack's snapshot findings, added to its own section of `result`."""
    by_stack = {check.stack: check for check in result.stacks}
    for run in runs:
        check = by_stack.get(run.stack)
        if check is not None:
            findings = snapshot_findings(run, project_dir, now)
            check.findings.extend(findings)
            # Said once: as the finding, not again among the run's notes (where the program's warning put it).
            said = {finding.message for finding in findings}
            check.notices[:] = [notice for notice in check.notices if notice not in said]


def snapshot_findings(run: StackRun, project_dir: Path, now: datetime) -> list[Finding]:
    """An example snapshot, and one older than the limit, each as a finding at the level configured."""
    snapshot: MetricSnapshot | None = run.metrics_snapshot
    if snapshot is None:
        return []
    settings = load_stack_settings(stack_file_path(project_dir, run.stack), run.stack)
    problems = [
        (example_notice(snapshot), "example"),
        (staleness(snapshot, now, settings.metrics_max_age_seconds), "pulled_at"),
    ]
    return [_finding(run.stack, snapshot, message, key, settings.metrics_staleness)
            for message, key in problems if message is not None]


def _finding(stack: str, snapshot: MetricSnapshot, message: str, key: str, level: str) -> Finding:
    return Finding(
        stack=stack,
        policy=SNAPSHOT_RULE.id,
        enforcement=level,
        severity=SNAPSHOT_RULE.severity,
        urn="",
        resource_name="",
        resource_type="",
        message=message,
        remediation=SNAPSHOT_RULE.remediation.replace("<stack>", stack),
        path=key,
        found=snapshot.pulled_at_text if key == "pulled_at" else "example",
        source=_source(snapshot, key),
    )


def _source(snapshot: MetricSnapshot, key: str) -> SourceLocation | None:
    try:
        text = Path(snapshot.path).read_text(encoding="utf-8")
    except OSError:
        return None
    offset = max(text.find(f'"{key}"'), 0)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    shown = snapshot.pulled_at_text if key == "pulled_at" else "(an example note)"
    return SourceLocation(snapshot.path, line, column, shown, key)
