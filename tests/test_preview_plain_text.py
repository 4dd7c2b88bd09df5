"""The plain-text preview is drawn without rich's layout engine (a quarter of a 30-region preview went there):
it must be exactly what rich prints on the plain console, and rich must still draw what it would rewrite."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from rich.tree import Tree

from tusk_infra.offline.model import StackRun
from tusk_infra.render import tree as tree_module
from tusk_infra.render.findings import policy_findings
from tusk_infra.render.plan import build_plan
from tusk_infra.render.tree import render_text


def through_rich(plan: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(tree_module, "_plain_text", lambda plan, trees=None: None)
        return render_text(plan)


def test_the_fixture_projects_preview_is_rich_s_own(
    program_runs: dict[str, StackRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import PROJECT_DIR

    runs = list(program_runs.values())
    plan = build_plan(runs, PROJECT_DIR, findings=policy_findings(runs, PROJECT_DIR))
    fast = tree_module._plain_text(plan)
    assert fast is not None and fast.startswith("stack us-east-1  ")
    assert fast == through_rich(plan, monkeypatch) == render_text(plan)


def plan_with(labels: list[str], notices: list[str] | None = None) -> dict[str, Any]:
    """A one-stack plan whose resources are named by `labels` (nested: each the parent of the next)."""
    resources: list[dict[str, Any]] = []
    parent = None
    for index, label in enumerate(labels):
        urn = f"urn:pulumi:s::p::t::r{index}"
        resources.append({"urn": urn, "type": "tusk:x:Thing", "name": label, "parent": parent,
                          "custom": index % 2 == 0, "inputs": {}})
        parent = urn if index % 2 == 0 else parent
    return {"stacks": [{"stack": "s", "resources": resources, "notices": notices or [],
                        "policy": [{"level": "advisory", "policy": "p", "name": "n", "message": "m  "}]}]}


@pytest.mark.parametrize(
    "labels",
    [
        ["plain", "trailing spaces   ", "", "日本語 wide é", "last"],
        ["x" * 300, "under", "[bold]not markup[/bold]", ":smile: no emoji"],
        [],
    ],
)
def test_edge_cases_match_rich(labels: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_with(labels, notices=["a notice  "])
    fast = tree_module._plain_text(plan)  # type: ignore[arg-type]
    assert fast is not None
    assert fast == through_rich(plan, monkeypatch)


@pytest.mark.parametrize(
    ("odd", "left_to_rich"),
    [("tab\there", True), ("two\nlines", True), ("escape\x1b[31m", True),
     # rich's Text drops a carriage return itself: the plain path sees the same text.
     ("carriage\rreturn", False)],
)
def test_text_rich_would_rewrite_is_left_to_rich(
    odd: str, left_to_rich: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_with(["a", odd, "b"])
    assert (tree_module._plain_text(plan) is None) is left_to_rich  # type: ignore[arg-type]
    assert render_text(plan) == through_rich(plan, monkeypatch)  # type: ignore[arg-type]


def test_a_tree_rich_would_draw_differently_is_refused() -> None:
    lines: list[str] = []
    collapsed = Tree(Text("root"))
    collapsed.add(Text("hidden children"), expanded=False).add(Text("leaf"))
    assert tree_module._add_tree_lines(lines, collapsed) is False
    assert tree_module._add_tree_lines([], Tree("a str label, not Text")) is False
