"""Run the real Pulumi program for each stack with no CLI, no cloud and no network: Pulumi's mocks.

Each stack's real Pulumi.<stack>.yaml is loaded into the mock config, global.tsk is evaluated for its region,
and `stack.build` registers its resources against a recording mock monitor. The database primary's stack
runs first; its outputs are served to the replica stacks' StackReference.
"""

from __future__ import annotations

import asyncio
import io
import os
import pickle
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from tusk_infra import project
from tusk_infra import stack as program
from tusk_infra.offline.mocks import OfflineMocks, RecordingMonitor
from tusk_infra.offline.model import UNKNOWN, RegisteredResource, StackRun

# Re-exported: preview, check and the tests select stacks through the runner.
from tusk_infra.project import ProjectError as ProjectError
from tusk_infra.project import discover_stacks as discover_stacks
from tusk_infra.project import select_stacks as select_stacks
from tusk_infra.stack_config import PROJECT, StackConfig, config_strings, parse_stack_config
from tusk_infra.stack_file import StackFile, load_stack_file, stack_file_path
from tusk_infra.stack_inputs import OfflineSecrets as OfflineSecrets  # moved there: eval uses it too
from tusk_infra.tusk import Document, TuskError
from tusk_infra.tusk.values import Secret

# Pulumi's name for the organization of a self-managed backend, as in organization/tusk-infra/us-east-1.
ORGANIZATION = "organization"

# What a replica's StackReference sees when the primary stack was not part of this run.
_UNRUN_PRIMARY_OUTPUTS: Mapping[str, Any] = {name: UNKNOWN for name in program.PRIMARY_OUTPUTS}


def run_stacks(
    project_dir: Path,
    stacks: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    strict_secrets: bool = False,
    live_metrics: bool = False,
    prepare: Callable[[StackRun], object] | None = None,
) -> list[StackRun]:
    """Run several stacks, the database primary first, serving its outputs to the replicas.

    `env` is the only environment global.tsk sees ({} if None: hermetic); commands pass os.environ. With many
    stacks on a machine with several cores, the replicas after the primary are shared out to forked worker
    processes (_parallel_runs); the runs, their order and any error are the same as one process's.
    `prepare` is called on each run as soon as it is made, in the process that made it: what it derives
    (StackRun.derive) comes back with the run, so a command's per-stack work runs in the workers too."""
    names = list(stacks) if stacks is not None else project.stack_names(project_dir)
    stack_files = project.stack_files(project_dir, names)
    ordered = project.primary_first(stack_files)
    served: dict[str, Mapping[str, Any]] = {}
    runs: list[StackRun] = []

    def run_in_order(chunk: Sequence[str]) -> list[StackRun]:
        done = []
        for name in chunk:
            run = _run(project_dir, name, stack_files[name], env or {}, served, strict_secrets, live_metrics)
            served[name] = run.outputs
            if prepare is not None:
                prepare(run)
            done.append(run)
        return done

    # The primary first, in this process: every replica reads its outputs.
    runs.extend(run_in_order(ordered[:1]))
    runs.extend(_parallel_runs(ordered[1:], run_in_order))
    return runs


# Below this many replica stacks the run stays in one process: a fork and the results' way back cost more
# than a few stacks take (about 40 ms each).
PARALLEL_MIN_STACKS = 8
# At most this many processes (the parent included) share the replicas.
PARALLEL_MAX_WORKERS = 4


def _workers(stacks: int) -> int:
    """How many processes should run `stacks` replica stacks: 1 unless there are enough of them, several
    cores and fork(); TUSK_INFRA_WORKERS=N sets the number (1: always one process)."""
    chosen = os.environ.get("TUSK_INFRA_WORKERS", "")
    if chosen.isdigit() and int(chosen) > 0:
        return min(int(chosen), max(stacks, 1))
    if stacks < PARALLEL_MIN_STACKS or not hasattr(os, "fork"):
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), PARALLEL_MAX_WORKERS, stacks // 2))


def _parallel_runs(
    stacks: Sequence[str], run_in_order: Callable[[Sequence[str]], list[StackRun]]
) -> list[StackRun]:
    """The replicas' runs, in order: the first share in this process, the others in forked children.

    A child runs its share exactly as this process would (it has the primary's outputs already) and sends
    back its StackRuns through a pipe; secrets travel inside that pipe only, never to a file. A child that
    fails sends nothing, and its share is run again here, so the error raised is the one a single process
    raises, for the first failing stack in order."""
    workers = _workers(len(stacks))
    if workers <= 1:
        return run_in_order(stacks)
    size = -(-len(stacks) // workers)
    shares = [stacks[start : start + size] for start in range(0, len(stacks), size)]
    children: list[tuple[int, int]] = []  # (pid, read end) of the workers not collected yet
    try:
        children.extend(_fork_share(share, run_in_order) for share in shares[1:])
        runs = run_in_order(shares[0])
        for share in shares[1:]:
            pid, reader = children[0]
            children[0] = (pid, -1)  # the file object below owns (and closes) the read end now
            with os.fdopen(reader, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(pid, 0)
            children.pop(0)
            if os.waitstatus_to_exitcode(status) == 0 and data:
                runs.extend(pickle.loads(data))
            else:
                runs.extend(run_in_order(share))
    except BaseException:
        # An error or an interrupt here: no worker may outlive the command (holding its stdout open).
        _stop_children(children)
        raise
    return runs


def _stop_children(children: Sequence[tuple[int, int]]) -> None:
    """Kill and reap the workers not collected yet, and close the read ends of their pipes."""
    for pid, reader in children:
        with suppress(OSError):  # already gone
            os.kill(pid, signal.SIGKILL)
        with suppress(OSError):  # already reaped
            os.waitpid(pid, 0)
        if reader >= 0:
            os.close(reader)


def _fork_share(
    share: Sequence[str], run_in_order: Callable[[Sequence[str]], list[StackRun]]
) -> tuple[int, int]:
    """Fork a child that runs `share` and writes its pickled StackRuns to a pipe; (pid, the read end)."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid:
        os.close(writer)
        return pid, reader
    # The child: a fresh event loop (the parent's executor threads did not survive the fork), its runs out
    # through the pipe, then gone without the interpreter's teardown or the parent's buffered output.
    os.close(reader)
    code = 1
    try:
        # Ctrl-C reaches the whole process group: a worker's KeyboardInterrupt ends it (os._exit below), and
        # the parent reports the interrupt.
        asyncio.set_event_loop(asyncio.new_event_loop())
        buffer = io.BytesIO()
        _ResultPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(run_in_order(share))
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(buffer.getvalue())
        code = 0
    finally:
        os._exit(code)


class _ResultPickler(pickle.Pickler):
    """Pickles StackRuns for the parent process: a Secret (which refuses pickling, to stay out of files)
    crosses the pipe as itself."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is Secret:
            return Secret, (obj.reveal(), obj.name)
        return NotImplemented


def run_stack(
    project_dir: Path,
    stack: str,
    *,
    env: Mapping[str, str] | None = None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    strict_secrets: bool = False,
) -> StackRun:
    """Run the program for one stack under mocks. `env` is the only environment global.tsk sees ({} if None);
    `stack_outputs` maps a referenced stack's name to the outputs its StackReference returns."""
    stack_file = load_stack_file(stack_file_path(project_dir, stack))
    return _run(project_dir, stack, stack_file, env or {}, stack_outputs or {}, strict_secrets)


def _run(
    project_dir: Path,
    stack: str,
    stack_file: StackFile,
    env: Mapping[str, str],
    stack_outputs: Mapping[str, Mapping[str, Any]],
    strict_secrets: bool,
    live_metrics: bool = False,
) -> StackRun:
    monitor = _start_runtime(stack, stack_file, stack_outputs)
    try:
        return _run_program(project_dir, stack, stack_file, env, monitor, strict_secrets, live_metrics)
    except BaseException:
        _cancel_pending_work()
        raise


def _run_program(
    project_dir: Path,
    stack: str,
    stack_file: StackFile,
    env: Mapping[str, str],
    monitor: RecordingMonitor,
    strict_secrets: bool,
    live_metrics: bool = False,
) -> StackRun:
    warnings: list[str] = []
    placeholders = OfflineSecrets(stack_file)
    config = parse_stack_config(stack, _raw_config(), stack_file)
    _check_primary_stack(project_dir, config)
    loaded = program.load(
        project_dir,
        config,
        env=dict(env),
        secrets=[program.StackSecrets(warnings.append)],
        last_resort=placeholders,
        warn=warnings.append,
        live_metrics=live_metrics,
    )
    if placeholders.used and strict_secrets:
        raise _missing_secrets_error(stack, loaded.document, placeholders)
    notices = placeholders.notices()
    outputs = _execute(lambda: program.build(loaded.settings, loaded.config))
    return StackRun(
        stack=stack,
        resources=_in_tree_order(monitor.registered),
        outputs=outputs,
        settings=loaded.document,
        notices=notices,
        warnings=warnings,
        metrics_snapshot=loaded.metrics_snapshot,
        freshness=list(loaded.freshness),
    )


def _check_primary_stack(project_dir: Path, config: StackConfig) -> None:
    """A replica's databasePrimaryStack must name a stack of this project: offline, a misspelt one would
    quietly read as (known after deploy) everywhere, and only `pulumi up` would find out."""
    parts = config.database_primary_stack.split("/")
    if len(parts) == 3 and parts[1] != PROJECT:
        return  # another project's stack: not one this project can know
    name = parts[-1]
    if not stack_file_path(project_dir, name).is_file():
        key = f"{PROJECT}:databasePrimaryStack"
        raise config.error(key, f"{key} names stack '{name}', but the project has no Pulumi.{name}.yaml; "
                                f"the stacks are: {', '.join(project.discover_stacks(project_dir))}")


def _missing_secrets_error(stack: str, document: Document, placeholders: OfflineSecrets) -> TuskError:
    file, line, column = _secret_position(document, placeholders.used[0])
    listed = "; ".join(f"{name}: {placeholders.why(name)}" for name in placeholders.used)
    return TuskError(
        f"stack {stack}: secrets not available offline (--strict-secrets): {listed}; export them in the "
        "environment of this command",
        file,
        line,
        column,
        source_line=document.line_text(line),
    )


def _secret_position(document: Document, name: str) -> tuple[str, int, int]:
    """Where global.tsk first uses a secret, so the error points at the @env.secure call."""
    fallback: tuple[str, int, int] | None = None
    deepest: tuple[int, tuple[str, int, int]] | None = None
    for path, provenance in document.provenance_items():
        fallback = fallback or (provenance.file, 1, 1)
        uses_it = any(use.kind == "secret" and use.name == name for use in provenance.inputs)
        # Blocks carry their values' inputs too; the deepest path is the @env.secure call itself.
        if uses_it and (deepest is None or len(path) > deepest[0]):
            deepest = (len(path), (provenance.file, provenance.line, provenance.column))
    if deepest is not None:
        return deepest[1]
    return fallback or (program.SETTINGS_FILE, 1, 1)


def _start_runtime(
    stack: str, stack_file: StackFile, stack_outputs: Mapping[str, Mapping[str, Any]]
) -> RecordingMonitor:
    """Fresh Pulumi runtime settings for this stack: a new root, the mock monitor and the stack's config."""
    # reset_options drops the previous stack's root resource and settings; set_mocks then installs ours.
    runtime_settings.reset_options(project=PROJECT, stack=stack, preview=True, organization=ORGANIZATION)
    monitor = RecordingMonitor(OfflineMocks(stack_outputs, _UNRUN_PRIMARY_OUTPUTS))
    pulumi.runtime.set_mocks(
        monitor.mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor, organization=ORGANIZATION
    )
    pulumi.runtime.set_all_config(config_strings(stack_file), [])
    return monitor


# How long a failed or interrupted stack's cancelled tasks get to finish.
CANCEL_WAIT_SECONDS = 2.0


def _cancel_pending_work() -> None:
    """Cancel what the runtime scheduled for a stack whose run failed (set_mocks registers the root stack at
    once), and let the cancellations finish: left pending, each task is reported on stderr when the process
    exits ('Task was destroyed but it is pending!'), after the error the user should read."""
    loop = asyncio.get_event_loop()
    if loop.is_running() or loop.is_closed():
        return
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        # Bounded: a task can wait, past its cancellation, on an Output whose registration was cancelled, and
        # an unbounded wait then hung an interrupted preview for ever (Ctrl-C mid-run).
        loop.run_until_complete(asyncio.wait(pending, timeout=CANCEL_WAIT_SECONDS))


def _raw_config() -> dict[str, str | None]:
    """The config values the program reads, as pulumi.Config returns them."""
    return program.raw_stack_config()


def _execute(build: Callable[[], Mapping[str, pulumi.Output[Any]]]) -> dict[str, Any]:
    """Run the program inside Pulumi's runtime, wait for every registration, and resolve its outputs."""
    resolved: dict[str, Any] = {}

    async def run() -> None:
        outputs = build()
        for name, output in outputs.items():
            resolved[name] = await _resolve(output)

    with _no_stack_traces(), _interrupts_from_the_loop():
        _sync_await(run_pulumi_func(run))
    return resolved


@contextmanager
def _interrupts_from_the_loop() -> Iterator[None]:
    """While the program runs, Ctrl-C raises KeyboardInterrupt from the event loop, not inside the program.

    Pulumi's run_pulumi_func catches whatever the program raises, KeyboardInterrupt included, and first waits
    for every outstanding registration; an interrupted program leaves some that never finish, and a preview
    interrupted at the wrong moment hung for ever. Raised from a loop callback, the interrupt leaves
    run_until_complete at once (asyncio re-raises KeyboardInterrupt from callbacks)."""
    loop = asyncio.get_event_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, _interrupt)
    except (ValueError, RuntimeError):  # not the main thread: its interrupts are not this thread's
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)  # Python's default handler again


def _interrupt() -> None:
    raise KeyboardInterrupt


@contextmanager
def _no_stack_traces() -> Iterator[None]:
    """Registrations without the Python stack trace Pulumi captures for each resource.

    For the engine's source positions, every registration walks the whole stack (traceback.extract_stack reads
    each frame's source line) and builds a protobuf frame per level; the mock monitor never looks at them.
    While the program runs offline, registrations carry an empty trace instead; afterwards Pulumi's own
    function is back."""
    captured = runtime_resource._get_stack_trace
    runtime_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = captured


async def _resolve(output: pulumi.Output[Any]) -> Any:
    value = await output.future(with_unknowns=True)
    if not await output.is_known() or isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if await output.is_secret():
        return Secret(str(value))
    return value


def _in_tree_order(resources: Sequence[RegisteredResource]) -> list[RegisteredResource]:
    """Registrations arrive in whatever order their inputs resolved; list them parents first, by name."""
    children: dict[str | None, list[RegisteredResource]] = {}
    urns = {resource.urn for resource in resources}
    for resource in resources:
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)
    ordered: list[RegisteredResource] = []

    def visit(parent: str | None) -> None:
        for resource in sorted(children.get(parent, []), key=lambda item: (item.type, item.name)):
            ordered.append(resource)
            visit(resource.urn)

    visit(None)
    return ordered
