"""Many stacks run in forked worker processes: the same runs, in the same order, and the same first error, as
one process gives."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import PROGRAM_SECRETS, copy_project
from test_project_edits import add_region

from tusk_infra.checks import check_runs
from tusk_infra.checks.apply import stack_check
from tusk_infra.offline import runner
from tusk_infra.offline.model import StackRun
from tusk_infra.render.plan import build_plan, plan_json
from tusk_infra.render.tree import plain_tree_lines, render_text, run_tree_lines
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


def runs_with(
    workers: str, project: Path, monkeypatch: pytest.MonkeyPatch, prepare: Any = None
) -> tuple[list[StackRun], int]:
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
        return runner.run_stacks(project, env=PROGRAM_SECRETS, prepare=prepare), len(forks)


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


def test_what_prepare_derives_in_a_worker_comes_back_with_the_run(
    many_stacks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def prepare(run: StackRun) -> None:
        stack_check(run, many_stacks)
        run_tree_lines(run, many_stacks)
        run.derive("pid", os.getpid)

    shared, forks = runs_with("3", many_stacks, monkeypatch, prepare)
    pids = {run.stack: run.derived["pid"] for run in shared}
    assert forks == 2 and len(set(pids.values())) == 3 and pids["us-east-1"] == os.getpid()
    # The parent computes nothing again: the derived check and tree are the ones the workers made.
    for run in shared:
        assert ("policy-check", many_stacks) in run.derived and ("plain-tree", many_stacks) in run.derived
        monkeypatch.setattr(run, "derived", dict(run.derived))
    alone, _ = runs_with("1", many_stacks, monkeypatch)
    plan_shared = build_plan(shared, many_stacks, findings=None)
    plan_alone = build_plan(alone, many_stacks, findings=None)
    assert plan_json(plan_shared) == plan_json(plan_alone)
    trees = {run.stack: run_tree_lines(run, many_stacks) for run in shared}
    assert trees == {stack["stack"]: plain_tree_lines(stack) for stack in plan_alone["stacks"]}
    assert render_text(plan_shared, trees=trees) == render_text(plan_alone)
    # The same findings, acknowledgements and notices as checking fresh runs, twice over (the derived check
    # is copied, never changed, by check_runs).
    fresh = check_runs(alone, many_stacks)
    for _ in range(2):
        again = check_runs(shared, many_stacks)
        assert [(c.stack, c.findings, c.notices) for c in again.stacks] == [
            (c.stack, c.findings, c.notices) for c in fresh.stacks]


def test_an_interrupted_parent_leaves_no_worker_behind(
    many_stacks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = os.getpid()

    def prepare(run: StackRun) -> None:
        if os.getpid() != parent:
            time.sleep(60)  # a worker busy for longer than the test may take
        elif run.stack != "us-east-1":
            raise KeyboardInterrupt  # Ctrl-C while the parent runs its own share

    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setenv("TUSK_INFRA_WORKERS", "3")
    monkeypatch.setattr(os, "fork", counting_fork)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        runner.run_stacks(many_stacks, env=PROGRAM_SECRETS, prepare=prepare)
    assert len(forks) == 2 and time.monotonic() - started < 30
    for pid in forks:  # killed and reaped: no such process any more
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_cancelled_work_that_never_finishes_is_not_waited_for_ever(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = asyncio.get_event_loop()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stubborn = True

    async def ignores_cancellation() -> None:
        while stubborn:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    task = loop.create_task(ignores_cancellation())
    loop.run_until_complete(asyncio.sleep(0))  # the task is inside its sleep: cancelling reaches its body
    monkeypatch.setattr(runner, "CANCEL_WAIT_SECONDS", 0.2)
    try:
        started = time.monotonic()
        runner._cancel_pending_work()
        assert time.monotonic() - started < 5 and not task.done()
    finally:
        stubborn = False
        task.cancel()
        loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(previous)


INTERRUPTED_PROGRAM = """
import asyncio, os, signal, time
import pulumi, pulumi_aws.sns as sns
from pulumi.runtime import settings
from tusk_infra.offline import runner
from tusk_infra.offline.mocks import OfflineMocks, RecordingMonitor

settings.reset_options(project="p", stack="s", preview=True, organization="o")
monitor = RecordingMonitor(OfflineMocks({}, {}))
pulumi.runtime.set_mocks(monitor.mocks, project="p", stack="s", preview=True, monitor=monitor,
                         organization="o")

def program():
    never = asyncio.get_event_loop().create_future()  # an input that never resolves: its registration waits
    sns.Topic("waiting", name=pulumi.Output.from_input(never))
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the program itself runs
    time.sleep(0.2)
    return {}

try:
    runner._execute(program)
except KeyboardInterrupt:
    print("interrupted")
"""


def test_ctrl_c_inside_the_program_leaves_the_run_at_once() -> None:
    """Pulumi's run_pulumi_func would catch the interrupt and wait for the registration that never ends."""
    result = subprocess.run([sys.executable, "-c", INTERRUPTED_PROGRAM], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.stdout == "interrupted\n", result.stderr[-2000:]
