"""allowed-regions: providers and resources live only in the regions global.tsk's regional_config declares."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from tusk_policy.aws import AWS_PROVIDER, arn_region
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import items_at, known, lookup, show

# Properties naming a region outright, ARNs whose region field counts, and availability zones.
_REGION_FIELDS = ("region",)
_ARN_FIELDS = ("replicateSourceDb", "kmsKeyId")
_ZONE_FIELDS = ("availabilityZone",)
_ZONE_LIST_FIELDS = ("availabilityZones", "preferredCacheClusterAzs")


_REGION_PREFIX = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+")


def _zone_region(zone: str, allowed: Sequence[str]) -> str:
    """The region a zone belongs to: "us-east-1a" and the local zone "us-west-2-lax-1a" -> their region."""
    for region in allowed:
        if zone.startswith(region) and zone[len(region) : len(region) + 1].isalpha():
            return region
    match = _REGION_PREFIX.match(zone)
    return match.group(0) if match else zone


def _placements(resource: Resource, allowed: Sequence[str]) -> Iterator[tuple[str, object, str]]:
    """(property path, value found, region it means) for every region-bearing property."""
    for path in _REGION_FIELDS:
        value = lookup(resource.props, path)
        if isinstance(value, str) and value:
            yield path, value, value
    for path in _ARN_FIELDS:
        value = known(resource.props, path)  # an ARN computed at deploy (a new key's) names no region yet
        region = arn_region(value)
        if region:
            yield path, value, region
    for path in _ZONE_FIELDS:
        value = lookup(resource.props, path)
        if isinstance(value, str) and value:
            yield path, value, _zone_region(value, allowed)
    for path in _ZONE_LIST_FIELDS:
        for index, zone in items_at(resource.props, path):
            if isinstance(zone, str):
                yield f"{path}.{index}", zone, _zone_region(zone, allowed)


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """Every region a resource (or the AWS provider it is created with) names is one global.tsk declares."""
    allowed: list[str] = list(config["allowedRegions"])
    if not allowed:
        return  # nothing declared: the policy has no list to enforce
    placements = list(_placements(resource, allowed))
    if resource.type != AWS_PROVIDER and resource.provider_type == AWS_PROVIDER and resource.provider_props:
        region = lookup(resource.provider_props, "region")
        if isinstance(region, str) and region:
            placements.append(("provider.region", region, region))
    for path, value, region in placements:
        if region not in allowed:
            named = f"{path} is {show(value)}" + (f", in region {show(region)}" if value != region else "")
            yield Violation(
                f"{named}, which global.tsk's regional_config does not "
                f"declare (declared: {', '.join(allowed)}); add the region to regional_config or move the "
                "resource",
                path,
                value,
            )


POLICY = PolicyDefinition(
    id="allowed-regions",
    description=(
        "Providers and resources are only created in regions that global.tsk's regional_config declares."
    ),
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation="Declare the region as a block in global.tsk's [regional_config], or use a declared region.",
    config_schema={
        "allowedRegions": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]+$"},
            "default": [],
            "description": "The AWS regions regional_config declares (tusk-infra fills this in).",
        },
    },
    validate_resource=validate,
    tags=("aws", "regions"),
)
