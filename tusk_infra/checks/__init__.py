"""Offline policy checks: the pack's pure policies applied to the resources a StackRun registered.

from tusk_infra.checks import check_run, check_runs, Finding
findings = check_run(run, project_dir)      # one stack
result = check_runs(runs, project_dir)      # several, with the verdict
"""

from tusk_infra.checks.apply import CheckResult, check_run, check_runs
from tusk_infra.checks.findings import Finding, SourceLocation

__all__ = ["CheckResult", "Finding", "SourceLocation", "check_run", "check_runs"]
