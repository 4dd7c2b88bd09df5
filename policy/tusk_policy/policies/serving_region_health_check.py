"""serving-region-health-check: every serving region has a Route 53 health check and a record tied to it.

A region's record (one of several under the application's name, told apart by its setIdentifier) without a
health check keeps answering while the region fails: DNS would send users to a dead region. tusk-infra fills
`region` and `servingRegions` from the stack and global.tsk, so a serving region without its record is seen
too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tusk_policy.aws import ROUTE53_HEALTH_CHECK, ROUTE53_RECORD, ROUTE53_ROUTING_POLICIES
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_present, known


def routed_records(resources: Sequence[Resource]) -> list[Resource]:
    """The Route 53 records that share a name with others (a setIdentifier): one per serving region."""
    return [r for r in resources if r.type == ROUTE53_RECORD and is_present(r.props, "setIdentifier")]


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """Each routed record has a health check and one routing policy; a serving region has its record."""
    checks = [r for r in resources if r.type == ROUTE53_HEALTH_CHECK]
    records = routed_records(resources)
    for record in records:
        yield from _check_record(record, has_checks=bool(checks))
    region = config.get("region")
    serving = config.get("servingRegions")
    if isinstance(region, str) and isinstance(serving, list) and region in serving:
        identifiers = {known(record.props, "setIdentifier") for record in records}
        if region not in identifiers:
            anchor = checks[0] if checks else None
            yield Violation(
                f"region {region} serves traffic (global.tsk's regional_config) but the stack has no Route "
                "53 record for it: DNS never sends users there; register the region's record (tusk:traffic) "
                "or set serving: false to drain it on purpose",
                "setIdentifier",
                region,
                urn=anchor.urn if anchor is not None else "",
            )
    if checks or not records:
        return
    # Records tied to health checks the stack does not create: nothing here watches the region.
    yield Violation(
        f"{len(records)} routed Route 53 record(s) but no health check in the stack: the region's own "
        "load balancer is not checked; create an aws.route53.HealthCheck for it and tie the record to it",
        "healthCheckId",
        None,
        urn=records[0].urn,
    )


def _check_record(record: Resource, *, has_checks: bool) -> Iterator[Violation]:
    name = known(record.props, "name") or record.name
    identifier = known(record.props, "setIdentifier") or "?"
    if not is_present(record.props, "healthCheckId"):
        yield Violation(
            f"record {name} ({identifier}) has no healthCheckId: Route 53 keeps answering with {identifier} "
            "while it fails; tie the record to the region's health check",
            "healthCheckId",
            None,
            urn=record.urn,
        )
    policies = [key for key in ROUTE53_ROUTING_POLICIES if is_present(record.props, key)]
    if len(policies) != 1:
        found = ", ".join(policies) or "none"
        yield Violation(
            f"record {name} ({identifier}) carries {len(policies)} routing policies ({found}); a routed "
            "record carries exactly one (a latency record no other)",
            policies[1] if len(policies) > 1 else "latencyRoutingPolicies",
            found,
            urn=record.urn,
        )


POLICY = PolicyDefinition(
    id="serving-region-health-check",
    description=(
        "Every serving region has a Route 53 health check and a record tied to it, with one routing policy."
    ),
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation=(
        "Keep [global_traffic] in global.tsk so each region stack registers its health check and record "
        "(tusk:traffic:RegionalTraffic); drain a region with serving: false, not by removing its record."
    ),
    config_schema={
        "region": {
            "type": ["string", "null"],
            "default": None,
            "description": "The stack's region (tusk-infra fills this in).",
        },
        "servingRegions": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "default": None,
            "description": "The regions global.tsk leaves serving (tusk-infra fills this in).",
        },
    },
    validate_stack=validate,
    tags=("aws", "route53", "availability"),
)
