"""Every policy of the pack, in the order reports list them: scaling limits first, then the baseline."""

from __future__ import annotations

from tusk_policy.model import PolicyDefinition
from tusk_policy.policies import (
    alarm_has_topic,
    alarm_subscriptions,
    allowed_regions,
    connection_budget,
    container_probes,
    container_resources,
    data_store_alarms,
    deployment_replicas_owned_by_hpa,
    elasticache_auth_token,
    elasticache_encryption,
    elasticache_failover,
    hpa_replica_bounds,
    hpa_scaling_behavior,
    hpa_target_exists,
    hpa_utilization_targets,
    image_tag_pinned,
    pdb_below_hpa_min,
    rds_backups,
    rds_deletion_protection,
    rds_encrypted,
    rds_multi_az,
    rds_not_public,
    rds_replica_count,
    redis_shard_limits,
)

POLICIES: tuple[PolicyDefinition, ...] = (
    hpa_replica_bounds.POLICY,
    hpa_utilization_targets.POLICY,
    hpa_scaling_behavior.POLICY,
    hpa_target_exists.POLICY,
    deployment_replicas_owned_by_hpa.POLICY,
    pdb_below_hpa_min.POLICY,
    connection_budget.POLICY,
    redis_shard_limits.POLICY,
    rds_replica_count.POLICY,
    allowed_regions.POLICY,
    container_resources.POLICY,
    container_probes.POLICY,
    image_tag_pinned.POLICY,
    rds_encrypted.POLICY,
    rds_multi_az.POLICY,
    rds_backups.POLICY,
    rds_not_public.POLICY,
    rds_deletion_protection.POLICY,
    elasticache_encryption.POLICY,
    elasticache_auth_token.POLICY,
    elasticache_failover.POLICY,
    data_store_alarms.POLICY,
    alarm_has_topic.POLICY,
    alarm_subscriptions.POLICY,
)

BY_ID: dict[str, PolicyDefinition] = {policy.id: policy for policy in POLICIES}
