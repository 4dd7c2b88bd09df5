"""RegionalTraffic: the region's place in global DNS, a Route 53 health check and a latency record.

Every region stack registers a health check against its own load balancer and, while the region serves, its
record for the application's name, tied to that check: Route 53 then answers each user with the nearest region
whose check passes. Draining a region (`serving: false`) removes its record and keeps its health check, so the
region can still be watched while no user is sent there.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws.lb as lb
import pulumi_aws.route53 as route53

from tusk_infra.settings import GlobalTraffic

# The type of the app's load balancer: an NLB (the AWS Load Balancer Controller's, from the Service).
LOAD_BALANCER_TYPE = "network"


@dataclass(frozen=True)
class GlobalTrafficArgs:
    """[global_traffic] from global.tsk, and what this region puts behind the application's name."""

    settings: GlobalTraffic
    region: str
    # False: the region is drained (no record; the health check stays).
    serving: bool
    # The path the health checkers request (global_traffic's, else the app's readiness path).
    health_check_path: str
    # The region's load balancer, by host name (known after deploy).
    load_balancer_hostname: pulumi.Input[str]
    # Names the health check in the console (its `Name` tag).
    app_name: str


class RegionalTraffic(pulumi.ComponentResource):
    """A Route 53 health check of the region's load balancer, and its record for the app's name."""

    health_check_id: pulumi.Output[str]
    # The record's name, or None while the region is drained.
    record_fqdn: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: GlobalTrafficArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("tusk:traffic:RegionalTraffic", name, None, opts)
        self._name = name
        self._args = args
        health_check = self._health_check()
        self.health_check_id = health_check.id
        if args.serving:
            record = self._record(health_check)
            self.record_fqdn = record.fqdn.apply(lambda fqdn: fqdn)
        else:
            self.record_fqdn = pulumi.Output.from_input(None)
        self.register_outputs({"health_check_id": self.health_check_id, "record_fqdn": self.record_fqdn})

    def _health_check(self) -> route53.HealthCheck:
        args = self._args
        check = args.settings.health_check
        return route53.HealthCheck(
            f"{self._name}-health",
            type=check.protocol,
            fqdn=args.load_balancer_hostname,
            port=check.resolved_port(),
            resource_path=args.health_check_path,
            # HTTPS checks send the host name (SNI), or a load balancer with several certificates fails them.
            enable_sni=True if check.protocol == "HTTPS" else None,
            # Route 53 cannot change these two on an existing check: a new value replaces it.
            request_interval=check.interval,
            measure_latency=check.measure_latency,
            failure_threshold=check.failure_threshold,
            regions=list(check.regions) if check.regions is not None else None,
            tags={"Name": f"{args.app_name}-{args.region}"},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _record(self, health_check: route53.HealthCheck) -> route53.Record:
        args = self._args
        traffic = args.settings
        ttl = traffic.record_ttl()
        # Exactly one routing policy: a latency record carries no other (nor does a weighted one).
        weighted = traffic.routing_policy == "weighted"
        latency: list[route53.RecordLatencyRoutingPolicyArgsDict] | None = (
            None if weighted else [{"region": args.region}]
        )
        weights: list[route53.RecordWeightedRoutingPolicyArgsDict] | None = (
            [{"weight": (traffic.weights or {})[args.region.replace("-", "_")]}] if weighted else None
        )
        return route53.Record(
            f"{self._name}-record",
            zone_id=self._zone_id(),
            name=traffic.domain_name,
            # An alias A record to the load balancer (no TTL: Route 53 answers with the target's), or a
            # CNAME to its host name, with the TTL global.tsk gives.
            type="A" if ttl is None else "CNAME",
            aliases=self._alias() if ttl is None else None,
            ttl=ttl,
            records=None if ttl is None else [args.load_balancer_hostname],
            # One record per region under the same name, told apart by its set identifier.
            set_identifier=args.region,
            health_check_id=health_check.id,
            latency_routing_policies=latency,
            weighted_routing_policies=weights,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _alias(self) -> list[route53.RecordAliasArgsDict]:
        """The region's load balancer, in its canonical hosted zone (the provider knows it per region)."""
        args = self._args
        zone = lb.get_hosted_zone_id_output(
            load_balancer_type=LOAD_BALANCER_TYPE,
            region=args.region,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return [{
            "name": args.load_balancer_hostname,
            "zone_id": zone.id,
            # The alias follows the NLB's own health too (no healthy target in any zone: not answered).
            "evaluate_target_health": True,
        }]

    def _zone_id(self) -> pulumi.Input[str]:
        traffic = self._args.settings
        if traffic.hosted_zone_is_id:
            return traffic.hosted_zone
        zone = route53.get_zone_output(
            name=traffic.hosted_zone, private_zone=False, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        return zone.zone_id
