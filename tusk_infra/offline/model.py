"""What an offline run of one stack produces: the resources the program registered, and its outputs."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class Unknown:
    """A value only the cloud knows (an endpoint, an ARN): shown as '(known after deploy)'."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "Unknown()"

    def __str__(self) -> str:
        return "(known after deploy)"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class RegisteredResource:
    """One resource as the engine would see it. Inputs keep the engine's camelCase names; secret values are
    replaced by `tusk_infra.tusk.values.Secret` (never plain) and cloud-computed ones by UNKNOWN."""

    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    custom: bool
    inputs: dict[str, Any] = field(default_factory=dict)
    # The resource options a diff needs to predict what the engine does: the URNs the resource may have had
    # before (aliases), the inputs whose changes the engine ignores or which replace it, and which top-level
    # inputs take their value from which other resources (by URN).
    aliases: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def reads(self) -> tuple[str, ...]:
        """The URNs whose outputs any of the inputs read: a Deployment reads the names of the ConfigMap and
        Secrets it mounts, so a replaced one rolls it out."""
        return tuple(sorted({urn for urns in self.property_dependencies.values() for urn in urns}))


@dataclass
class StackRun:
    """The result of running the program once for one stack under mocks."""

    stack: str
    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    # The settings document evaluated from global.tsk (a tusk Document).
    settings: Any = None
    # What the run could not know offline: each secret a placeholder stood in for, and why.
    notices: list[str] = field(default_factory=list)
    # What the run warned of, true online too: a secret stored in plain text, a metric that fell back to its
    # default, a cache it could not open.
    warnings: list[str] = field(default_factory=list)
    # The metric snapshot the run's @metrics read (a tusk_infra.backends.snapshot.MetricSnapshot), if any.
    metrics_snapshot: Any = None
    # Said about that snapshot at this moment (too old to size from): time-dependent, so never in a plan.
    freshness: list[str] = field(default_factory=list)
    # What later steps computed from this run alone (its policy check, its plan, its tree), kept by key: see
    # derive. Computed where the run was made, a forked worker's included, it travels back with the run.
    derived: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)

    def derive(self, key: Hashable, compute: Callable[[], T]) -> T:
        """compute(), once per key: a value that depends on this run only (and on what the key names).

        The runner's `prepare` step (run_stacks) calls the same functions as the commands do later, in the
        process that ran the stack, so at 30 stacks the per-stack half of checking and rendering is shared
        out with the runs instead of waiting in the parent. Callers treat the value as read-only."""
        if key not in self.derived:
            self.derived[key] = compute()
        value: T = self.derived[key]
        return value
