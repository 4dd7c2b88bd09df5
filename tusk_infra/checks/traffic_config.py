"""What global.tsk says about global traffic, as the config of the policies that guard it: which regions serve
(every stack evaluates the whole [regional_config], so each one knows), which are drained, the minimum, and
the stack's own region."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from tusk_infra.checks.stack_file import StackPolicySettings, read_stack_settings
from tusk_infra.project import stack_names
from tusk_infra.stack_file import stack_file_path

# While the project has this many stacks or more, at least this many must serve (unless global.tsk says).
DEFAULT_MIN_SERVING_REGIONS = 2


def traffic_policy_config(settings: StackPolicySettings, document: Any) -> dict[str, dict[str, Any]]:
    """Config for min-serving-regions and serving-region-health-check; empty without [global_traffic]."""
    data = getattr(document, "data", None)
    if not isinstance(data, Mapping) or not isinstance(data.get("global_traffic"), Mapping):
        return {}
    regional = data.get("regional_config")
    blocks: Mapping[str, Any] = regional if isinstance(regional, Mapping) else {}
    stack_regions = _project_regions(settings)
    # A region declared without a stack serves nothing yet.
    declared = [str(key).replace("_", "-") for key in blocks]
    regions = [region for region in declared if stack_regions is None or region in stack_regions]
    drained = [region for region in regions if _drained(blocks.get(region.replace("-", "_")))]
    serving = [region for region in regions if region not in drained]
    stacks = len(stack_regions) if stack_regions is not None else len(declared)
    written = data["global_traffic"].get("min_serving_regions")
    minimum = written if isinstance(written, int) and not isinstance(written, bool) else min(
        DEFAULT_MIN_SERVING_REGIONS, max(stacks, 1)
    )
    return {
        "min-serving-regions": {
            "minServingRegions": minimum,
            "servingRegions": serving,
            "drainedRegions": drained,
        },
        "serving-region-health-check": {"region": settings.region, "servingRegions": serving},
    }


def _drained(block: Any) -> bool:
    # `serving` defaults to true: only an explicit false drains.
    return isinstance(block, Mapping) and block.get("serving") is False


def _project_regions(settings: StackPolicySettings) -> set[str] | None:
    """The regions of the project's stacks (their aws:region), when the stack was read from its project."""
    if not settings.keys or not settings.path.is_file():
        return None
    project_dir = settings.path.parent
    return set(_stack_regions(project_dir, _stack_file_stamps(project_dir)))


def _stack_file_stamps(project_dir: Path) -> tuple[tuple[str, int, int, int], ...]:
    """Each stack file's name, inode, size and modification time: what _stack_regions' answer depends on."""
    stamps = []
    for name in stack_names(project_dir):
        try:
            stat = stack_file_path(project_dir, name).stat()
        except OSError:  # gone since it was listed: read_stack_settings reads it as empty
            stamps.append((name, 0, 0, 0))
            continue
        stamps.append((name, stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


@lru_cache(maxsize=8)
def _stack_regions(project_dir: Path, stamps: tuple[tuple[str, int, int, int], ...]) -> frozenset[str]:
    """Every stack asks for the regions of all of them: read the stack files once per project state, not once
    per stack (at 30 stacks, 900 parses), and again only when a file changes."""
    regions = {read_stack_settings(project_dir, name).region for name, *_ in stamps}
    return frozenset(region for region in regions if region is not None)
