"""AWS type tokens and facts several policies share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tusk_policy.props import is_present

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
AWS_PROVIDER = "pulumi:providers:aws"


def is_read_replica(props: Mapping[str, Any]) -> bool:
    """An RDS instance with a replication source is a read replica; its source owns backups and multi-AZ."""
    return is_present(props, "replicateSourceDb")


def arn_region(value: object) -> str | None:
    """The region field of an ARN ("arn:aws:rds:us-east-1:123:db:x" -> "us-east-1"), else None."""
    if not isinstance(value, str) or not value.startswith("arn:"):
        return None
    parts = value.split(":")
    return parts[3] if len(parts) > 5 and parts[3] else None

ROUTE53_HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
ROUTE53_RECORD = "aws:route53/record:Record"
# A Route 53 record's routing policies: a routed record (one of several under a name, told apart by its
# setIdentifier) carries exactly one.
ROUTE53_ROUTING_POLICIES = (
    "latencyRoutingPolicies", "weightedRoutingPolicies", "failoverRoutingPolicies",
    "geolocationRoutingPolicies", "geoproximityRoutingPolicy", "cidrRoutingPolicy",
    "multivalueAnswerRoutingPolicy",
)
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SNS_TOPIC = "aws:sns/topic:Topic"
SNS_TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
# The alarm tag naming the resource an alarm watches (its Pulumi logical name), for when the dimension that
# names it is only known after deploy (an ElastiCache node's id derives from its replication group's).
WATCHES_TAG = "tusk-infra.dev/watches"


def provider_region(provider_props: Mapping[str, Any] | None) -> str | None:
    """The region of a resource's explicit AWS provider, when known."""
    region = (provider_props or {}).get("region")
    return region if isinstance(region, str) else None
