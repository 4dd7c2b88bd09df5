"""When the cloud applies a change, told beside it where that is not at once: a reviewer must know that a
merged and deployed change is not live yet.

One so far: an RDS parameter group's static parameter (max_connections, shared_buffers...). The RDS user
guide, "Working with parameter groups": a change to a static parameter is applied after the DB instance is
rebooted (it shows pending-reboot until then); pulumi-aws's `applyMethod: pending-reboot` says the same.
"""

from __future__ import annotations

from typing import Any

from tusk_infra.render.plain import Path

_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
# PostgreSQL parameters that RDS lists with ApplyType "static": they take effect only at a restart.
STATIC_POSTGRES_PARAMETERS = frozenset({
    "autovacuum_max_workers", "huge_pages", "max_connections", "max_locks_per_transaction",
    "max_logical_replication_workers", "max_pred_locks_per_transaction", "max_prepared_transactions",
    "max_replication_slots", "max_wal_senders", "max_worker_processes", "shared_buffers",
    "shared_preload_libraries", "track_activity_query_size", "wal_buffers",
})


def change_note(resource_type: str, path: Path, after: dict[str, Any]) -> str | None:
    """How the change at `path` takes effect, when not at once; None otherwise."""
    if resource_type != _PARAMETER_GROUP or len(path) < 2 or path[0] != "parameters":
        return None
    parameters, index = after.get("parameters"), path[1]
    if not isinstance(parameters, list) or not isinstance(index, int) or not 0 <= index < len(parameters):
        return None
    parameter = parameters[index]
    name = parameter.get("name") if isinstance(parameter, dict) else None
    if not isinstance(name, str):
        return None
    if parameter.get("applyMethod") != "pending-reboot" and name not in STATIC_POSTGRES_PARAMETERS:
        return None
    return (f"applies only after a reboot: {name} is a static parameter, so each instance using this "
            "parameter group keeps the old value (pending-reboot) until it is rebooted")
