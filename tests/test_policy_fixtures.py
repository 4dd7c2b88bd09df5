"""Every policy against its PASSED and FAILED fixtures, run as pure functions (as `tusk-infra check` does)."""

from __future__ import annotations

from collections import Counter

import pytest
from policy_fixtures import FIXTURES, Fixture, as_change, as_resource, load_fixtures
from tusk_policy import BY_ID, POLICIES, Violation

ALL_FIXTURES = load_fixtures()


def run_fixture(fixture: Fixture) -> list[Violation]:
    """The violations the fixture's policy reports over the fixture's resources."""
    policy = BY_ID[fixture.policy_id]
    if policy.is_change_policy:
        return [v for raw in fixture.resources for v in policy.check_change(as_change(raw), fixture.config)]
    resources = [as_resource(raw) for raw in fixture.resources]
    if policy.is_stack_policy:
        return policy.check_stack(resources, fixture.config)
    return [v for resource in resources for v in policy.check_resource(resource, fixture.config)]


@pytest.mark.parametrize("fixture", ALL_FIXTURES, ids=lambda f: f.case_id)
def test_fixture_outcome(fixture: Fixture) -> None:
    violations = run_fixture(fixture)
    messages = [v.message for v in violations]
    if fixture.passed:
        assert violations == [], f"{fixture.case_id} should pass but reported {messages}"
        return
    assert violations, f"{fixture.case_id} should fail but reported nothing"
    for fragment in fixture.expect:
        assert any(fragment in m for m in messages), f"{fixture.case_id}: {fragment!r} not in {messages}"


def test_every_policy_has_passed_and_failed_fixtures() -> None:
    counts = Counter((f.policy_id, f.passed) for f in ALL_FIXTURES)
    assert {p.id for p in POLICIES} == {d.name for d in FIXTURES.iterdir() if d.is_dir()}
    for policy in POLICIES:
        assert counts[(policy.id, True)] >= 1, f"{policy.id} has no PASSED fixture"
        assert counts[(policy.id, False)] >= 1, f"{policy.id} has no FAILED fixture"
    assert sum(counts.values()) == len(ALL_FIXTURES) >= 2 * len(POLICIES)


def test_failed_fixtures_say_what_they_expect() -> None:
    # A FAILED fixture without an expected fragment would pass on any violation, even the wrong one.
    assert [f.case_id for f in ALL_FIXTURES if not f.passed and not f.expect] == []


def test_violations_never_show_the_auth_token() -> None:
    fixture = next(f for f in ALL_FIXTURES if f.case_id == "elasticache-auth-token/short-token")
    token = fixture.resources[0]["props"]["authToken"]
    assert all(token not in v.message and v.value != token for v in run_fixture(fixture))
