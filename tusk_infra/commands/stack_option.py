"""`--stack NAME` of eval and explain: evaluate with the inputs the program gives global.tsk for that stack.

The program evaluates global.tsk in its project directory and reads Pulumi.<stack>.yaml from the same place,
so the stack file is looked for beside FILE. What the stack contributes comes from tusk_infra.stack_inputs,
the module the program takes it from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tusk_infra.backends.config import BackendSettings
from tusk_infra.project import ProjectError, select_stacks
from tusk_infra.stack_config import PROJECT, StackConfig, config_strings, parse_stack_config
from tusk_infra.stack_file import StackFile, load_stack_file, stack_file_path
from tusk_infra.stack_inputs import StackSecrets, stack_backend_settings, stack_env, stack_file_secrets


@dataclass(frozen=True)
class ChosenStack:
    """A stack read from its file, typed, ready to hand its inputs to an evaluation."""

    config: StackConfig
    stack_file: StackFile

    def env(self, process_env: Mapping[str, str]) -> dict[str, str]:
        """The process environment with the stack's REGION, ZONE and INSTANCE_ID, as the program sets them."""
        return stack_env(self.config, process_env)

    def backends(self) -> BackendSettings:
        """The live backends the stack file enables (command-line options still override them)."""
        return stack_backend_settings(self.config)

    def secrets(self, warn: Callable[[str], None]) -> StackSecrets:
        """The stack's secret config that can be read without the Pulumi CLI."""
        return stack_file_secrets(self.stack_file, warn)

    def encrypted(self, names: Sequence[str]) -> list[str]:
        """Those of `names` the stack file holds encrypted, as their keys (tusk-infra:NAME)."""
        return [f"{PROJECT}:{name}" for name in names if f"{PROJECT}:{name}" in self.stack_file.secure_keys]


def choose_stack(file: str, stack: str) -> ChosenStack:
    """Read Pulumi.<stack>.yaml beside FILE. A directory that is not a project, or a stack it does not have,
    is a ProjectError (a usage error to the command); a broken stack file is a positioned StackConfigError."""
    project_dir = Path(file).parent
    if not (project_dir / "Pulumi.yaml").is_file():
        raise ProjectError(
            f"no Pulumi.yaml in {project_dir}: --stack reads Pulumi.{stack}.yaml from the project directory "
            "holding FILE, as the program does"
        )
    select_stacks(project_dir, stack)
    stack_file = load_stack_file(stack_file_path(project_dir, stack))
    # The plain config strings are what the engine hands the program (and what the offline runner sets).
    config = parse_stack_config(stack, config_strings(stack_file), stack_file)
    return ChosenStack(config, stack_file)
