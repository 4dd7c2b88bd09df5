"""Many stacks run in forked worker processes: the same runs, in the same order, and the same first error, as
one process gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import PROGRAM_SECRETS, copy_project
from test_project_edits import add_region

from tusk_infra.offline import runner
from tusk_infra.offline.model import StackRun
from tusk_infra.stack_config import StackConfigError

REGIONS = ("us-east-2", "us-west-1", "ca-central-1", "eu-west-2", "eu-west-3", "eu-central-1", "ap-south-1")


@pytest.fixture(scope="module")
def many_stacks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture project with seven more replica regions: ten stacks."""
    project = copy_project(tmp_path_factory.mktemp("many") / "project")
    for region in REGIONS:
        add_region(project, region)
    return project


def canonical(runs: list[StackRun]) -> str:
    return repr([(run.stack, run.resources, run.outputs, run.notices, run.warnings,
                  run.settings.to_plain(show_secrets=True)) for run in runs])


def runs_with(workers: str, project: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[StackRun], int]:
    forks = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    with monkeypatch.context() as patch:
        patch.setenv("TUSK_INFRA_WORKERS", workers)
        patch.setattr(os, "fork", counting_fork)
        return runner.run_stacks(project, env=PROGRAM_SECRETS), len(forks)


def test_worker_processes_give_the_runs_one_process_gives(
    many_stacks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone, no_forks = runs_with("1", many_stacks, monkeypatch)
    shared, forks = runs_with("3", many_stacks, monkeypatch)
    assert (no_forks, forks) == (0, 2)
    assert [run.stack for run in shared][:1] == ["us-east-1"] and len(shared) == 10
    # Secrets crossed the pipe as Secrets (compared by value), cloud values as the one UNKNOWN.
    assert canonical(shared) == canonical(alone)


def test_a_failing_stack_in_a_worker_raises_what_one_process_raises(
    many_stacks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(tmp_path / "broken", many_stacks)
    stack_file = project / "Pulumi.us-west-2.yaml"  # the last stack in order: a worker's share
    stack_file.write_text(stack_file.read_text().replace("tusk-infra:vpcId:", "tusk-infra:vpcid:"))
    errors = []
    for workers in ("1", "3"):
        with pytest.raises(StackConfigError) as caught:
            runs_with(workers, project, monkeypatch)
        errors.append(caught.value.render())
    assert errors[0] == errors[1] and "vpcid" in errors[0]


def test_few_stacks_stay_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUSK_INFRA_WORKERS", raising=False)
    assert runner._workers(runner.PARALLEL_MIN_STACKS - 1) == 1
    assert runner._workers(2) == 1
