"""Changes the cloud refuses as written, told beside the change: a reviewer hears of them before `pulumi up`.

One so far: an RDS engine major-version upgrade. The RDS API reference, ModifyDBInstance,
AllowMajorVersionUpgrade: "Constraints: Major version upgrades must be allowed when specifying a value for the
EngineVersion parameter that's a different major version than the DB instance's current version"; pulumi-aws
passes the instance's `allowMajorVersionUpgrade` through (unset by default).
"""

from __future__ import annotations

from typing import Any

from tusk_infra.render.plain import Path
from tusk_infra.render.replacements import version_numbers

_RDS = "aws:rds/instance:Instance"


def change_warning(
    resource_type: str, path: Path, before: dict[str, Any], after: dict[str, Any]
) -> str | None:
    """Why the change at `path` will be refused as written, and the fix; None when nothing is known."""
    if resource_type != _RDS or path != ("engineVersion",):
        return None
    old, new = before.get("engineVersion"), after.get("engineVersion")
    if after.get("allowMajorVersionUpgrade") is True:
        return None
    if not _major_upgrade(str(after.get("engine", "")), old, new):
        return None
    return (f"a major-version upgrade ({old} → {new}): AWS refuses it unless allowMajorVersionUpgrade is "
            "true; set allow_major_version_upgrade=True on the instance for this change")


def _major_upgrade(engine: str, old: Any, new: Any) -> bool:
    old_version, new_version = version_numbers(old), version_numbers(new)
    if old_version is None or new_version is None:
        return False
    return _major(engine, old_version) < _major(engine, new_version)


def _major(engine: str, version: tuple[int, ...]) -> tuple[int, ...]:
    # PostgreSQL from 10 on names its major version by one number (16, 17); before it (9.6), and MySQL (5.7,
    # 8.0, 8.4) and MariaDB (10.6, 10.11), by two.
    if engine.startswith("postgres") and version[0] >= 10:
        return version[:1]
    return version[:2]
