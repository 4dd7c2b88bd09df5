"""Loading the policy fixtures under tests/policy/<policy-id>/<case>-PASSED.json / -FAILED.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tusk_policy import PlannedChange, Resource

FIXTURES = Path(__file__).parent / "policy"


@dataclass(frozen=True)
class Fixture:
    """One fixture: the resources a policy sees, its config, and the outcome its file name promises."""

    policy_id: str
    name: str
    passed: bool
    config: dict[str, Any]
    resources: list[dict[str, Any]]
    expect: list[str]

    @property
    def case_id(self) -> str:
        return f"{self.policy_id}/{self.name}"


def load_fixtures() -> list[Fixture]:
    """Every fixture file, sorted, with the outcome taken from its name."""
    found = []
    for path in sorted(FIXTURES.glob("*/*.json")):
        stem, _, outcome = path.stem.rpartition("-")
        assert outcome in ("PASSED", "FAILED"), f"{path}: name must end in -PASSED.json or -FAILED.json"
        data = json.loads(path.read_text())
        found.append(
            Fixture(
                path.parent.name,
                stem,
                outcome == "PASSED",
                data.get("config", {}),
                data["resources"],
                data.get("expect", []),
            )
        )
    return found


def as_resource(raw: dict[str, Any]) -> Resource:
    """A fixture resource as a tusk_policy Resource."""
    provider = raw.get("provider") or {}
    return Resource(
        type=raw["type"],
        props=raw["props"],
        urn=raw.get("urn", ""),
        name=raw.get("name", ""),
        provider_type=provider.get("type"),
        provider_props=provider.get("props"),
    )


def as_change(raw: dict[str, Any]) -> PlannedChange:
    """A fixture resource with its `change` (action, before, reasons) as the change a diff plans for it."""
    change = raw["change"]
    reasons = tuple(change.get("reasons", ()))
    return PlannedChange(change["action"], as_resource(raw), change["before"], reasons)
