"""Route 53's own limits on health checks, read offline from botocore's Route 53 service model, so the
settings refuse what the API would refuse (and name what it accepts) before anything is deployed."""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources
from typing import Any

# What the model says, and the fallback if botocore ever reshapes its data: the shapes HealthCheckRegion
# (enum) and HealthCheckRegionList (min 3) of route53 2013-04-01.
_FALLBACK_CHECKER_REGIONS = (
    "us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-southeast-2",
    "ap-northeast-1", "sa-east-1",
)  # fmt: skip
_FALLBACK_MIN_CHECKER_REGIONS = 3
# RequestInterval: the API takes 10 to 30, but Route 53 only runs standard (30 s) or fast (10 s) checks;
# CreateHealthCheck refuses any other value. It cannot be changed later (UpdateHealthCheck has no
# RequestInterval member), so a new interval means a new health check.
REQUEST_INTERVALS = (10, 30)


@cache
def checker_regions() -> tuple[str, ...]:
    """The regions Route 53's health checkers run from (the HealthCheckRegion enum)."""
    try:
        return tuple(_shapes()["HealthCheckRegion"]["enum"])
    except (OSError, ValueError, KeyError, TypeError):
        return _FALLBACK_CHECKER_REGIONS


@cache
def min_checker_regions() -> int:
    """How many checker regions a health check names at least, when it names any (HealthCheckRegionList)."""
    try:
        return int(_shapes()["HealthCheckRegionList"]["min"])
    except (OSError, ValueError, KeyError, TypeError):
        return _FALLBACK_MIN_CHECKER_REGIONS


def _shapes() -> dict[str, Any]:
    folder = resources.files("botocore").joinpath("data", "route53", "2013-04-01")
    plain = folder.joinpath("service-2.json")
    if plain.is_file():
        text = plain.read_text(encoding="utf-8")
    else:
        text = gzip.decompress(folder.joinpath("service-2.json.gz").read_bytes()).decode("utf-8")
    shapes: dict[str, Any] = json.loads(text)["shapes"]
    return shapes
