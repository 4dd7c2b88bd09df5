"""The connection-budget policy's sum for the primary database, worked out from each region's settings.

`tusk-infra check` adds up the Deployments the program registers (HPA maxReplicas x the pool annotation);
those come straight from `scaling.autoscaler.max_replicas` and `database.primary.pool.max_open_conns`, so a
change to the set of regions can be judged before any stack runs (by `tusk-infra region add/remove`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tusk_policy import BY_ID

from tusk_infra.checks.config import stack_policy_config
from tusk_infra.checks.stack_file import read_stack_settings
from tusk_infra.settings import RegionSettings
from tusk_infra.tusk import Document

POLICY_ID = "connection-budget"


@dataclass(frozen=True)
class Writers:
    """One region's app at full scale, as it connects to the primary database."""

    region: str
    pods: int
    pool: int

    @property
    def connections(self) -> int:
        return self.pods * self.pool


@dataclass(frozen=True)
class PrimaryBudget:
    """Every region's writers against the primary's max_connections less the policy's reserve."""

    primary_region: str
    max_connections: int
    reserved: int
    writers: tuple[Writers, ...]

    @property
    def budget(self) -> int:
        return self.max_connections - self.reserved

    @property
    def demand(self) -> int:
        return sum(writer.connections for writer in self.writers)

    @property
    def over(self) -> int:
        """By how many connections the demand exceeds the budget (0 when it fits)."""
        return max(0, self.demand - self.budget)

    @property
    def max_connections_needed(self) -> int:
        """The smallest database.max_connections that fits every writer."""
        return self.demand + self.reserved

    @property
    def pool_cap(self) -> int:
        """The largest pool per pod, the same in every region, that fits (as the policy's message says)."""
        pods = sum(writer.pods for writer in self.writers)
        return math.floor(self.budget / pods) if pods else 0


def primary_budget(settings: Mapping[str, RegionSettings], reserved: int) -> PrimaryBudget:
    """The budget of the primary database from each region's settings (keyed by region, primary included)."""
    primary = next(s for s in settings.values() if s.is_database_primary)
    writers = tuple(
        Writers(region, s.scaling.autoscaler.max_replicas, s.database.primary.pool.max_open_conns)
        for region, s in settings.items()
    )
    return PrimaryBudget(primary.region, primary.database.max_connections, reserved, writers)


def reserved_connections(project_dir: Path, primary_stack: str, document: Document) -> int:
    """The policy's reservedConnections for the primary's stack: its default, or tusk-infra:policyConfig's."""
    policy = BY_ID[POLICY_ID]
    settings = read_stack_settings(project_dir, primary_stack)
    config = stack_policy_config(settings, document, {POLICY_ID: policy})
    default = int(policy.config_schema["reservedConnections"]["default"])
    return int(config.properties.get(POLICY_ID, {}).get("reservedConnections", default))
