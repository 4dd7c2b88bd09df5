"""The memory of RDS instance classes, for alarms that watch FreeableMemory as a share of it.

AWS publishes these figures (RDS User Guide, "DB instance classes", hardware specifications); CloudWatch's
FreeableMemory is in bytes, so a threshold written as a percentage needs the class's memory. A class missing
here is not an error by itself: global.tsk then gives the FreeableMemory threshold in bytes instead.
"""

from __future__ import annotations

from collections.abc import Mapping

GIB = 2**30

# Memory in GiB by size, shared by the classes whose sizes scale the same way.
_MEMORY_OPTIMIZED_GIB: Mapping[str, int] = {
    "large": 16, "xlarge": 32, "2xlarge": 64, "4xlarge": 128,
    "8xlarge": 256, "12xlarge": 384, "16xlarge": 512,
}  # fmt: skip
_GENERAL_PURPOSE_GIB: Mapping[str, int] = {
    "large": 8, "xlarge": 16, "2xlarge": 32, "4xlarge": 64,
    "8xlarge": 128, "12xlarge": 192, "16xlarge": 256,
}  # fmt: skip
_BURSTABLE_GIB: Mapping[str, int] = {
    "micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32,
}  # fmt: skip

# Graviton families (the ones global.tsk uses, and their general-purpose and burstable siblings).
_FAMILIES: Mapping[str, Mapping[str, int]] = {
    "r6g": _MEMORY_OPTIMIZED_GIB,
    "r7g": _MEMORY_OPTIMIZED_GIB,
    "m6g": _GENERAL_PURPOSE_GIB,
    "m7g": _GENERAL_PURPOSE_GIB,
    "t4g": _BURSTABLE_GIB,
}


def memory_bytes(instance_class: str) -> int | None:
    """The memory of an instance class ("db.r6g.2xlarge" -> 64 GiB in bytes), None when not in the table."""
    prefix, _, rest = instance_class.partition(".")
    family, _, size = rest.partition(".")
    gib = _FAMILIES.get(family, {}).get(size) if prefix == "db" else None
    return None if gib is None else gib * GIB


def known_families() -> list[str]:
    """The instance families the table covers, for messages."""
    return sorted(_FAMILIES)
