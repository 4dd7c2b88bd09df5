"""Hostile .tsk input (issue 11, language): depth, size blow-up, non-regular files, output that JSON cannot
carry, and secrets pasted as literals. Each ends in a positioned error within the hard bounds (a child
limited to 1.5 GB and 30 s), never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import Outcome, assert_positioned_error, run_cli

from tusk_infra.tusk import Providers, TuskError, evaluate_text
from tusk_infra.tusk.providers import CacheHit


def _globals_chain(count: int, template: Callable[[int], str], first: str = "1") -> str:
    lines = [f"$g0: {first}", *(f"$g{n}: {template(n)}" for n in range(1, count))]
    return "\n".join([*lines, f"a: $g{count - 1}"]) + "\n"


DEEP = {
    "section-path": "[" + ".".join(["s"] * 500) + "]\nk: 1\n",
    "list-chain": _globals_chain(1000, lambda n: f"[$g{n - 1}]"),
    "object-chain": _globals_chain(300, lambda n: f"{{x: $g{n - 1}}}"),
    "mixed-chain": _globals_chain(400, lambda n: f"[{{x: $g{n - 1}}}]"),
    "nested-blocks": "a {\n" * 300 + "k: 1\n" + "}\n" * 300,
    "nested-arrays": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "nested-parens": "a: " + "(" * 5000 + "1" + ")" * 5000 + "\n",
    "nested-objects": "a: " + "{x: " * 2000 + "1" + "}" * 2000 + "\n",
}

BLOW_UPS = {
    "doubling-lists": _globals_chain(24, lambda n: f"[$g{n - 1}, $g{n - 1}]"),
    "widening-lists": _globals_chain(8, lambda n: "[" + ", ".join([f"$g{n - 1}"] * 20) + "]"),
    "doubling-strings": _globals_chain(40, lambda n: f"$g{n - 1} + $g{n - 1}", first='"ab"'),
    "concatenated-lists": _globals_chain(40, lambda n: f"$g{n - 1} + $g{n - 1}", first="[1, 2]"),
    "interpolation": _globals_chain(40, lambda n: f'"${{g{n - 1}}}${{g{n - 1}}}"', first='"ab"'),
    "join": _globals_chain(22, lambda n: f"[$g{n - 1}, $g{n - 1}]") + "b: $g21.join(\",\")\n",
    "objects": _globals_chain(24, lambda n: f"{{l: $g{n - 1}, r: $g{n - 1}}}"),
}


def _run(tmp_path: Path, text: str, *options: str) -> Outcome:
    (tmp_path / "h.tsk").write_text(text, encoding="utf-8")
    return run_cli("eval", "h.tsk", *options, cwd=tmp_path)


@pytest.mark.parametrize("output", ["json", "yaml"])
@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_deep_input_is_a_positioned_error(tmp_path: Path, text: str, output: str) -> None:
    outcome = _run(tmp_path, text, "--format", output)
    assert_positioned_error(outcome, "h.tsk")
    first = outcome.first_error_line
    assert "nest" in first or "levels" in first, first


@pytest.mark.parametrize("text", BLOW_UPS.values(), ids=BLOW_UPS.keys())
def test_a_value_past_the_size_limits_is_a_positioned_error(tmp_path: Path, text: str) -> None:
    outcome = _run(tmp_path, text)
    assert_positioned_error(outcome, "h.tsk")
    assert "TUSK_MAX_VALUE_" in outcome.first_error_line, outcome.first_error_line


def test_the_element_limit_can_be_raised(tmp_path: Path) -> None:
    text = _globals_chain(12, lambda n: f"[$g{n - 1}, $g{n - 1}]")  # 4,095 elements expanded
    (tmp_path / "h.tsk").write_text(text, encoding="utf-8")
    refused = run_cli("eval", "h.tsk", cwd=tmp_path, env={"TUSK_MAX_VALUE_ELEMENTS": "4000"})
    assert_positioned_error(refused, "h.tsk")
    assert run_cli("eval", "h.tsk", cwd=tmp_path, env={"TUSK_MAX_VALUE_ELEMENTS": "5000"}).returncode == 0


def test_values_within_the_limits_are_unchanged(tmp_path: Path) -> None:
    outcome = _run(tmp_path, _globals_chain(99, lambda n: f"[$g{n - 1}]"))
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.count("[") == 98  # $g1 ... $g98 each add one list around $g0


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_a_pasted_password_is_never_shown_under_the_caret(tmp_path: Path, output: str) -> None:
    text = 'password: "canary-pasted-4711"\npassword: "canary-pasted-4711"\n'
    outcome = _run(tmp_path, text, "--format", output)
    assert_positioned_error(outcome, "h.tsk", canaries=["canary-pasted-4711"])
    assert 'password: "[secret]"' in outcome.stderr


class _NaNCache:
    """A cache provider (Python API) that hands back what no evaluation could compute."""

    def get(self, key: str) -> CacheHit | None:
        return CacheHit([1.0, {"ttl": float("nan")}])

    def put(self, key: str, value: object, ttl_seconds: float) -> None:
        return None


def test_a_non_finite_value_from_any_source_is_an_error_at_its_key() -> None:
    text = 'plain: 1\nshared: @cache("1m", [1.0, {ttl: 2.0}])\n'
    with pytest.raises(TuskError) as caught:
        evaluate_text(text, filename="h.tsk", providers=Providers(cache=_NaNCache()))
    assert str(caught.value).startswith("h.tsk:2:1: shared.1.ttl: the value is not a finite number")
