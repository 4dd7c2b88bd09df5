"""Policies never crash on odd properties: a crash inside CrossGuard would abort the user's preview."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_fixtures import as_resource, load_fixtures
from tusk_policy import POLICIES, PlannedChange, Violation

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
PASSING = [f for f in load_fixtures() if f.passed]


def leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [prefix] + [p for k, v in value.items() for p in leaf_paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [prefix] + [p for i, v in enumerate(value) for p in leaf_paths(v, (*prefix, i))]
    return [prefix]


def replaced(props: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(props)
    if not path:
        return mutated
    target: Any = mutated
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return mutated


def run_all(fixture_index: int, mutate: Any) -> None:
    fixture = PASSING[fixture_index % len(PASSING)]
    resources = [as_resource(raw) for raw in fixture.resources]
    resources = [type(r)(r.type, mutate(dict(r.props)), r.urn, r.name) for r in resources]
    for policy in POLICIES:
        found = (
            policy.check_stack(resources)
            if policy.is_stack_policy
            else [v for r in resources for v in policy.check_resource(r)]
        )
        if policy.is_change_policy:
            found = [v for r in resources
                     for v in policy.check_change(PlannedChange("replace", r, r.props, ("identifier",)))]
        assert all(isinstance(v, Violation) and v.message for v in found)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 10**6), JSON)
def test_a_mutated_property_never_crashes_a_policy(fixture_index: int, path_index: int, value: Any) -> None:
    def mutate(props: dict[str, Any]) -> dict[str, Any]:
        paths = leaf_paths(props)
        return replaced(props, paths[path_index % len(paths)], value)

    run_all(fixture_index, mutate)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10**6), st.dictionaries(st.text(max_size=10), JSON, max_size=4))
def test_arbitrary_properties_never_crash_a_policy(fixture_index: int, props: dict[str, Any]) -> None:
    run_all(fixture_index, lambda _: props)


def test_extreme_numbers_are_not_numbers() -> None:
    from tusk_policy.quantity import parse_quantity

    assert parse_quantity("1e999999999Ki") is None and parse_quantity(float("inf")) is None
    assert parse_quantity("250m") == parse_quantity(0.25) and parse_quantity("1Gi") == 2**30
    fixture = next(f for f in load_fixtures() if f.case_id == "connection-budget/primary-at-full-scale")
    resources = [as_resource(raw) for raw in fixture.resources]
    group = resources[-1]
    params = [{"name": "max_connections", "value": "nan"}]
    resources[-1] = type(group)(group.type, {**group.props, "parameters": params}, group.urn, group.name)
    (violation,) = POLICIES[6].check_stack(resources)
    assert "no max_connections parameter" in violation.message


def test_a_metric_query_id_that_is_not_text_names_nothing() -> None:
    """Found by the mutation test above: a list as a metric query's id crashed data-store-alarms."""
    fixture = next(f for f in PASSING
                   if f.policy_id == "data-store-alarms" and f.name == "shard-metric-math-deployed")

    def list_ids(props: dict[str, Any]) -> dict[str, Any]:
        for query in props.get("metricQueries", []):
            query["id"] = ["node1"]
        return props

    run_all(PASSING.index(fixture), lambda props: list_ids(copy.deepcopy(props)))
