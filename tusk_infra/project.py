"""The project directory: its Pulumi.yaml and the stacks it has, one Pulumi.<stack>.yaml each.

Free of pulumi's runtime, so `eval --stack` finds a stack as cheaply as it reads one; the offline runner
(preview, check) selects its stacks here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from tusk_infra.stack_config import PROJECT
from tusk_infra.stack_file import StackFile, load_stack_file, stack_file_path


def discover_stacks(project_dir: Path) -> list[str]:
    """The stacks of the project (from Pulumi.<stack>.yaml files), the database primary's first."""
    return primary_first(stack_files(project_dir, stack_names(project_dir)))


class ProjectError(Exception):
    """The directory is not a tusk-infra project, or a stack name is not one of its stacks."""


class UnknownStack(ProjectError):
    """A stack name given on the command line is not one of the project's: a usage error (exit 2)."""


def find_project_dir(start: Path) -> Path:
    """The nearest directory from `start` upwards holding Pulumi.yaml, as git and pulumi find theirs; `start`
    itself when none does (the command then says there is no Pulumi.yaml there)."""
    for directory in (start, *start.resolve().parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return start


def select_stacks(project_dir: Path, stack: str | None) -> list[str]:
    """The stacks a command runs: `stack` if the project has it, else all of them.

    A directory without Pulumi.yaml, a project without any Pulumi.<stack>.yaml and an unknown stack name are
    ProjectErrors, so no command ever reports success over zero stacks."""
    if not (project_dir / "Pulumi.yaml").is_file():
        raise ProjectError(f"no Pulumi.yaml in {project_dir}; run it in the project directory or pass "
                           "--project-dir")
    names = stack_names(project_dir)
    if not names:
        raise ProjectError(f"no stacks in {project_dir}: expected at least one Pulumi.<stack>.yaml "
                           "beside Pulumi.yaml")
    if stack is None:
        return primary_first(stack_files(project_dir, names))  # one order everywhere: deploy order
    if stack not in names:
        known = primary_first(stack_files(project_dir, names))
        raise UnknownStack(f"no stack '{stack}' (no Pulumi.{stack}.yaml in {project_dir}); the stacks are: "
                           f"{', '.join(known)}")
    return [stack]


def stack_names(project_dir: Path) -> list[str]:
    """The stacks that have a Pulumi.<stack>.yaml in the directory, by name."""
    return sorted(
        path.name[len("Pulumi.") : -len(".yaml")]
        for path in project_dir.glob("Pulumi.*.yaml")
        if path.name != "Pulumi.yaml"
    )


def stack_files(project_dir: Path, stacks: Sequence[str]) -> dict[str, StackFile]:
    """Each named stack's file, read."""
    return {name: load_stack_file(stack_file_path(project_dir, name)) for name in stacks}


def primary_first(stack_files: Mapping[str, StackFile]) -> list[str]:
    """The stacks in deploy order: the one holding the database primary first, then by name."""
    primaries = {_named_primary(stack_file) for stack_file in stack_files.values()}
    return sorted(stack_files, key=lambda name: (name not in primaries, name))


def _named_primary(stack_file: StackFile) -> str | None:
    value = stack_file.values.get(f"{PROJECT}:databasePrimaryStack")
    return value.rsplit("/", 1)[-1] if isinstance(value, str) else None
