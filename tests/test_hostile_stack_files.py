"""Hostile and careless Pulumi.<stack>.yaml files (issue 11, stack files): each ends in a positioned error at
the offending value, within the hard bounds, with no traceback and no secret — in eval, check and preview."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hostile import assert_positioned_error, run_cli

STACK = "us-west-2"
STACK_FILE = f"Pulumi.{STACK}.yaml"
INSTANCE = "tusk-infra:instance: tusk-usw2"
PASSWORD = "canary-stack-password-5150"

# The commands that read a stack file, as a user runs them.
COMMANDS = {
    "eval": ("eval", "global.tsk", "--stack", STACK, "--format", "json"),
    "check": ("check", "--stack", STACK),
    "preview": ("preview", "--stack", STACK),
}


def _with_instance(value: str) -> str:
    return f"tusk-infra:instance: {value}"


def _alias_bomb(levels: int, width: int) -> str:
    lines = ["  tusk-infra:policyConfig:", f"    a0: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"    a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def _mapping_bomb(levels: int) -> str:
    lines = ["  tusk-infra:policyConfig:", "    m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
    for level in range(1, levels):
        members = ", ".join(f"k{n}: *m{level - 1}" for n in range(8))
        lines.append(f"    m{level}: &m{level} {{{members}}}")
    return "\n".join(lines) + "\n"


# (case id, replace the instance line with..., text appended to the config block, expected message part)
CASES = [
    ("date-tag", _with_instance("!!timestamp 2001-12-14"), "", "found the tag !!timestamp"),
    ("binary-tag", _with_instance("!!binary aGVsbG8="), "", "found the tag !!binary"),
    ("set-tag", _with_instance("!!set {a, b}"), "", "found the tag !!set"),
    ("omap-tag", _with_instance("!!omap [a: 1]"), "", "found the tag !!omap"),
    ("python-object", _with_instance("!!python/object/apply:os.system [echo hi]"), "", "!!python/"),
    ("python-name", _with_instance("!!python/name:os.system"), "", "!!python/"),
    ("local-tag", _with_instance("!custom value"), "", "found the tag !custom"),
    ("escaped-nul", _with_instance('"tusk\\0usw2"'), "", "NUL character"),
    ("nul-in-list", INSTANCE, '  tusk-infra:cacheDir: "\\0"\n', "NUL character"),
    ("huge-integer", _with_instance("9" * 5000), "", "out of range"),
    ("int64-overflow", _with_instance("9223372036854775808"), "", "out of range"),
    ("negative-overflow", _with_instance("-9223372036854775809"), "", "out of range"),
    ("nan", _with_instance(".nan"), "", "must be finite"),
    ("infinity", _with_instance("-.inf"), "", "must be finite"),
    ("sequence-bomb", INSTANCE, _alias_bomb(9, 10), "expands to more than"),
    ("wide-bomb", INSTANCE, _alias_bomb(3, 200), "expands to more than"),
    ("mapping-bomb", INSTANCE, _mapping_bomb(8), "expands to more than"),
    ("recursive-alias", INSTANCE, "  tusk-infra:policyConfig: &loop [*loop]\n", "recursive value"),
    ("deep-nesting", INSTANCE, "  tusk-infra:policyConfig: " + "[" * 200 + "]" * 200 + "\n", "deeper than"),
    ("complex-key", INSTANCE, "  tusk-infra:policyConfig: {? [a, b] : c}\n", "plain string"),
    ("merge-key", INSTANCE, "  tusk-infra:policyConfig: {a: &base {x: 1}, b: {<<: *base}}\n", "merge key"),
]


def _write_case(project: Path, instance_line: str, appended: str) -> None:
    path = project / STACK_FILE
    text = path.read_text(encoding="utf-8")
    assert INSTANCE in text
    path.write_text(text.replace(INSTANCE, instance_line) + appended, encoding="utf-8")


@pytest.mark.parametrize(("case", "instance_line", "appended", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_stack_value_is_a_positioned_error(
    program_project: Path, case: str, instance_line: str, appended: str, message: str
) -> None:
    _write_case(program_project, instance_line, appended)
    # eval reads the stack file as check and preview do (the same reader), without running the program.
    outcome = run_cli(*COMMANDS["eval"], cwd=program_project)
    assert_positioned_error(outcome, STACK_FILE)
    assert message in outcome.first_error_line, outcome.first_error_line


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_refuses_an_alias_bomb_in_bounds(program_project: Path, command: str) -> None:
    _write_case(program_project, INSTANCE, _alias_bomb(9, 10))
    outcome = run_cli(*COMMANDS[command], cwd=program_project)
    assert_positioned_error(outcome, STACK_FILE)


def test_a_raw_control_character_is_an_error_at_its_position(program_project: Path) -> None:
    _write_case(program_project, _with_instance("tusk\x00usw2"), "")
    outcome = run_cli(*COMMANDS["check"], cwd=program_project)
    assert_positioned_error(outcome, STACK_FILE)
    assert outcome.first_error_line.startswith(f"{STACK_FILE}:16:"), outcome.first_error_line
    assert "U+0000" in outcome.first_error_line


def test_a_date_is_a_string_as_pulumi_reads_it(program_project: Path) -> None:
    """YAML 1.2 core: `2001-12-14` is the text the engine hands the program, not a date."""
    _write_case(program_project, _with_instance("2001-12-14"), "")
    secrets = {"DB_PRIMARY_PASSWORD": PASSWORD, "REDIS_CLUSTER_PASSWORD": PASSWORD + "-0123456789"}
    outcome = run_cli(*COMMANDS["eval"], cwd=program_project, env=secrets)
    assert outcome.returncode == 0, outcome.stderr
    assert '"instance_id": "2001-12-14"' in outcome.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    "appended",
    [
        f"  tusk-infra:DB_PRIMARY_PASSWORD: {PASSWORD}\n  tusk-infra:DB_PRIMARY_PASSWORD: {PASSWORD}\n",
        f"  tusk-infra:DB_PRIMARY_PASSWORD: {PASSWORD}: more\n",
        f"  tusk-infra:DB_PRIMARY_PASSWORD: '{PASSWORD}\n",
        f'  "tusk-infra:DB_PRIMARY_PASSWORD": {PASSWORD} !!binary\n  tusk-infra:x: [\n',
    ],
    ids=["duplicate", "yaml-error", "unclosed-quote", "quoted-key"],
)
def test_a_snippet_never_shows_a_plain_text_secret(
    program_project: Path, command: str, appended: str
) -> None:
    _write_case(program_project, INSTANCE, appended)
    outcome = run_cli(*COMMANDS[command], cwd=program_project)
    assert_positioned_error(outcome, STACK_FILE, canaries=[PASSWORD, PASSWORD[7:]])


@pytest.mark.parametrize("kind", ["device", "directory", "fifo", "oversized"])
def test_only_a_regular_file_of_bounded_size_is_read(
    program_project: Path, tmp_path: Path, kind: str
) -> None:
    if kind == "device":
        target = Path("/dev/zero")
    elif kind == "directory":
        target = tmp_path / "a-directory.tsk"
        target.mkdir()
    elif kind == "fifo":
        target = tmp_path / "a-pipe.tsk"
        os.mkfifo(target)
    else:
        target = tmp_path / "big.tsk"
        target.write_bytes(b"a: 1\n" * 1000)
    env = {"TUSK_MAX_INPUT_BYTES": "1000"} if kind == "oversized" else {}
    outcome = run_cli("eval", str(target), cwd=program_project, env=env)
    assert_positioned_error(outcome, str(target))
    expected = "TUSK_MAX_INPUT_BYTES" if kind == "oversized" else "not a regular file"
    assert expected in outcome.first_error_line


def test_an_oversized_stack_file_names_the_limit(program_project: Path) -> None:
    _write_case(program_project, INSTANCE, "# padding\n" * 500)
    outcome = run_cli(*COMMANDS["check"], cwd=program_project, env={"TUSK_MAX_INPUT_BYTES": "2000"})
    assert outcome.returncode == 1
    assert "TUSK_MAX_INPUT_BYTES" in outcome.stderr
