"""Start-up: `--version` imports no command, a subcommand imports only its own module and what it uses, the
language package loads its parts on first use, and the console entry point still flushes its output and
exits with the command's status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

import pytest
from conftest import PROJECT_DIR, REPO

import tusk_infra
from tusk_infra.cli import COMMANDS, build_parser, chosen_command

SAMPLE = REPO / "examples" / "sample.tsk"
# Libraries a command must not import unless it uses them.
HEAVY = ("pulumi", "rich", "jsonschema", "importlib.metadata", "yaml", "boto3", "psycopg", "pydantic")


def modules_after(*argv: str) -> tuple[int, str, set[str]]:
    """Run main(argv) in a fresh interpreter; its exit code, stdout and the modules it had imported."""
    script = (
        "import contextlib, io, json, sys\n"
        "from tusk_infra.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    code = main(sys.argv[1:])\n"
        "print(json.dumps([code, out.getvalue(), sorted(sys.modules)]))\n"
    )
    env = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG")}
    result = subprocess.run([sys.executable, "-c", script, *argv], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    code, out, modules = json.loads(result.stdout)
    return code, out, set(modules)


def loaded(modules: set[str], package: str) -> bool:
    return any(name == package or name.startswith(package + ".") for name in modules)


def test_version_imports_no_command_and_no_library() -> None:
    code, out, modules = modules_after("--version")
    assert (code, out) == (0, f"tusk-infra {tusk_infra.__version__}\n")
    assert not [name for name in modules if name.startswith("tusk_infra.commands.")]
    assert not [package for package in (*HEAVY, "lark", "tusk_infra.tusk") if loaded(modules, package)]


def test_eval_imports_only_eval_and_what_it_uses() -> None:
    code, out, modules = modules_after("eval", str(SAMPLE))
    assert code == 0 and json.loads(out)
    commands = {name for name in modules if name.startswith("tusk_infra.commands.")}
    assert commands == {"tusk_infra.commands.eval", "tusk_infra.commands.stack_option"}
    assert not [package for package in HEAVY if loaded(modules, package)]
    assert not loaded(modules, "tusk_infra.render") and not loaded(modules, "tusk_infra.checks")
    # No live backend is configured: none of their modules (nor socket, which PostgreSQL's brings) loads.
    backends = {"aws_clients", "aws_secrets", "cloudwatch", "file_cache", "snapshot", "postgres"}
    assert not [name for name in backends if f"tusk_infra.backends.{name}" in modules]
    assert not loaded(modules, "socket")


def test_the_settings_name_the_secret_sources_the_backend_has() -> None:
    from tusk_infra.backends import aws_secrets, defaults

    assert tuple(aws_secrets.SOURCE_KINDS) == defaults.SECRET_SOURCE_KINDS


def test_json_preview_does_not_import_rich() -> None:
    code, out, modules = modules_after("preview", "--stack", "us-east-1", "--format", "json")
    assert code == 0 and json.loads(out)["stacks"][0]["stack"] == "us-east-1"
    assert not loaded(modules, "rich") and not loaded(modules, "jsonschema")


def test_the_version_is_the_installed_distributions() -> None:
    assert metadata.version("tusk-infra") == tusk_infra.__version__


@pytest.mark.parametrize("command", COMMANDS)
def test_a_subcommands_parser_is_the_same_alone(command: str) -> None:
    alone = build_parser(only=command)
    full = build_parser()
    [alone_commands] = [a for a in alone._actions if a.dest == "command"]
    [full_commands] = [a for a in full._actions if a.dest == "command"]
    assert list(alone_commands.choices) == [command]  # type: ignore[attr-defined]
    assert (alone_commands.choices[command].format_help()  # type: ignore[attr-defined]
            == full_commands.choices[command].format_help())  # type: ignore[attr-defined]
    assert chosen_command([command, "--help"]) == command


def test_the_top_level_help_still_lists_every_command() -> None:
    assert chosen_command(["--help"]) is None and chosen_command(["evaluate"]) is None
    result = subprocess.run([sys.executable, "-m", "tusk_infra", "--help"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0 and result.stderr == ""
    for command in COMMANDS:
        assert f"    {command} " in result.stdout, command
    unknown = subprocess.run([sys.executable, "-m", "tusk_infra", "evaluate"], capture_output=True, text=True,
                             timeout=120, check=False)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "invalid choice: 'evaluate'" in unknown.stderr


def test_the_language_package_loads_its_parts_on_first_use() -> None:
    script = (
        "import sys, tusk_infra.tusk as tusk\n"
        "before = 'tusk_infra.tusk.parser' in sys.modules\n"
        "from tusk_infra.tusk import TuskError\n"
        "after_error = 'tusk_infra.tusk.parser' in sys.modules\n"
        "tusk.evaluate_text('a: 1\\n')\n"
        "print(before, after_error, 'tusk_infra.tusk.parser' in sys.modules,"
        " set(tusk.__all__) <= set(dir(tusk)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.stdout.split() == ["False", "False", "True", "True"], result.stderr
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        tusk_infra.tusk.nonesuch  # type: ignore[attr-defined]  # noqa: B018


def test_the_console_flushes_a_large_output_through_a_pipe_and_keeps_the_status() -> None:
    # The console ends the process with os._exit: whatever was buffered must have reached the pipe.
    whole = subprocess.run(
        [sys.executable, "-m", "tusk_infra", "preview", "--all-stacks", "--format", "json"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300, check=False,
    )
    assert whole.returncode == 0, whole.stderr
    assert [stack["stack"] for stack in json.loads(whole.stdout)["stacks"]] == ["us-east-1", "eu-west-1",
                                                                                  "us-west-2"]
    failing = subprocess.run([sys.executable, "-m", "tusk_infra", "eval"], cwd=PROJECT_DIR,
                             capture_output=True, text=True, timeout=120, check=False)
    assert failing.returncode == 2 and failing.stdout == ""
    assert failing.stderr.startswith("usage: tusk-infra eval ")
    assert failing.stderr.endswith("error: the following arguments are required: FILE\n")
