"""min-serving-regions: a change leaves at least N regions serving traffic (N: 2 while there are 2+ stacks).

Draining is one line in global.tsk (`serving: false`); draining one region too many leaves the application on
a single region, or on none. Which regions serve is a fact about every stack at once: tusk-infra fills
`servingRegions` from global.tsk (which every stack evaluates whole) so one stack's check, in CrossGuard as
offline, sees it. Without it, the policy counts the routed Route 53 records of the stacks it is given (all of
them with `tusk-infra check --all-stacks`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tusk_policy.aws import ROUTE53_HEALTH_CHECK
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.policies.serving_region_health_check import routed_records
from tusk_policy.props import known


def _serving(resources: Sequence[Resource], config: Config) -> list[str] | None:
    configured = config.get("servingRegions")
    if isinstance(configured, list):
        return sorted(str(region) for region in configured)
    records = routed_records(resources)
    if not records:
        return None  # no global traffic here at all: nothing to count
    return sorted({str(known(record.props, "setIdentifier")) for record in records})


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """Refuse fewer serving regions than minServingRegions."""
    serving = _serving(resources, config)
    minimum = int(config["minServingRegions"])
    if serving is None or len(serving) >= minimum:
        return
    drained = [str(region) for region in config.get("drainedRegions") or []]
    anchor = next((r for r in resources if r.type == ROUTE53_HEALTH_CHECK), None)
    named = f" (drained: {', '.join(drained)})" if drained else ""
    yield Violation(
        f"{len(serving)} region(s) would serve traffic ({', '.join(serving) or 'none'}), fewer than the "
        f"minimum of {minimum}{named}; set serving: true on a drained region in global.tsk's "
        "regional_config, or lower global_traffic.min_serving_regions",
        "minServingRegions",
        minimum,
        urn=anchor.urn if anchor is not None else "",
    )


POLICY = PolicyDefinition(
    id="min-serving-regions",
    description=(
        "At least minServingRegions regions serve traffic (default 2 while there are 2 or more stacks)."
    ),
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation=(
        "Drain fewer regions (serving: true in global.tsk's regional_config) or lower "
        "global_traffic.min_serving_regions; in an emergency, acknowledge the violation with a reason."
    ),
    config_schema={
        "minServingRegions": {"type": "integer", "minimum": 1, "default": 2},
        "servingRegions": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "default": None,
            "description": "The regions global.tsk leaves serving (tusk-infra fills this in); "
            "null: count the routed Route 53 records instead.",
        },
        "drainedRegions": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "The regions global.tsk drains (tusk-infra fills this in; for the message).",
        },
    },
    validate_stack=validate,
    # Without servingRegions, the records only add up over every stack.
    cross_stack=True,
    tags=("aws", "route53", "availability"),
)
