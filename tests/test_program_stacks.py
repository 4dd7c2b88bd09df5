"""The Pulumi program for every stack of the fixture project (tests/fixtures/project), under mocks: resources,
flags, HPA values, replicas, secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from conftest import PROGRAM_SECRETS, PROJECT_DIR

from tusk_infra.offline.model import UNKNOWN, RegisteredResource, StackRun
from tusk_infra.offline.runner import run_stack
from tusk_infra.tusk.values import Secret

STACKS = ("us-east-1", "us-west-2", "eu-west-1")
IMAGE_DIGEST = "sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904b3a8b8a3c1f7f2e1d0c9b8a7"
VPC_CIDRS = {"us-east-1": "10.10.0.0/16", "us-west-2": "10.20.0.0/16", "eu-west-1": "10.30.0.0/16"}
REPLICAS = ("us-west-2", "eu-west-1")


def expected_resources(region: str) -> set[tuple[str, str]]:
    """Every (type, name) a region's stack registers; replicas add a stack reference and a KMS key."""
    resources = {
        ("pulumi:providers:aws", f"aws-{region}"),
        ("pulumi:providers:kubernetes", f"k8s-{region}"),
        ("tusk:redis:RedisCluster", f"redis-{region}"),
        ("aws:elasticache/subnetGroup:SubnetGroup", f"redis-{region}-subnets"),
        ("aws:ec2/securityGroup:SecurityGroup", f"redis-{region}-sg"),
        ("aws:elasticache/parameterGroup:ParameterGroup", f"redis-{region}-params"),
        ("aws:elasticache/replicationGroup:ReplicationGroup", f"redis-{region}-group"),
        ("tusk:postgres:PostgresCluster", f"postgres-{region}"),
        ("aws:rds/subnetGroup:SubnetGroup", f"postgres-{region}-subnets"),
        ("aws:ec2/securityGroup:SecurityGroup", f"postgres-{region}-sg"),
        ("aws:rds/parameterGroup:ParameterGroup", f"postgres-{region}-params"),
        ("tusk:app:RegionalApp", f"app-{region}"),
        ("kubernetes:core/v1:Namespace", f"app-{region}-ns"),
        ("kubernetes:core/v1:ServiceAccount", f"app-{region}-sa"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"app-{region}-default-deny"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"app-{region}-netpol"),
        ("kubernetes:core/v1:ConfigMap", f"app-{region}-config"),
        ("kubernetes:core/v1:Secret", f"app-{region}-db-secrets"),
        ("kubernetes:core/v1:Secret", f"app-{region}-redis-secrets"),
        ("kubernetes:apps/v1:Deployment", f"app-{region}-deployment"),
        ("kubernetes:core/v1:Service", f"app-{region}-service"),
        ("kubernetes:policy/v1:PodDisruptionBudget", f"app-{region}-pdb"),
        ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", f"app-{region}-hpa"),
        ("tusk:traffic:RegionalTraffic", f"traffic-{region}"),
        ("aws:route53/healthCheck:HealthCheck", f"traffic-{region}-health"),
        ("aws:route53/record:Record", f"traffic-{region}-record"),
    }
    # One instance and one regional key per region, primary or replica (a failover promotes in place).
    resources |= {
        ("aws:kms/key:Key", f"postgres-{region}-key"),
        ("aws:rds/instance:Instance", f"postgres-{region}-db"),
    }
    resources |= alarm_resources(region)
    if region == "us-east-1":
        return resources
    return resources | {("pulumi:pulumi:StackReference", "organization/tusk-infra/us-east-1")}


def alarm_resources(region: str) -> set[tuple[str, str]]:
    """The region's alarm topic, its two subscriptions (the stack files' examples) and its alarms: five on
    ElastiCache, one per metric over every node (3 shards of 3 nodes in us-east-1, else 2: one group of at
    most 10 nodes, named by its first shard), four on the database, plus ReplicaLag on a replica."""
    alarm = "aws:cloudwatch/metricAlarm:MetricAlarm"
    name = f"alarms-{region}"
    found = {
        ("tusk:alerting:RegionalAlarms", name),
        ("aws:sns/topic:Topic", f"{name}-topic"),
        ("aws:sns/topicSubscription:TopicSubscription", f"{name}-topic-subscription-0"),
        ("aws:sns/topicSubscription:TopicSubscription", f"{name}-topic-subscription-1"),
    }
    for metric in ("engine-cpu", "memory", "evictions", "replication-lag", "connections"):
        found.add((alarm, f"{name}-redis-shards-0001-{metric}"))
    database = ["cpu", "freeable-memory", "free-storage", "connections"]
    if region != "us-east-1":
        database.append("replica-lag")
    found |= {(alarm, f"{name}-postgres-{metric}") for metric in database}
    # The region's Route 53 health check, watched where Route 53 publishes its metrics (us-east-1): its status
    # and, as global.tsk measures latency, its time to first byte; outside us-east-1 with a topic of its own
    # (and the same subscriptions) through a us-east-1 provider.
    found |= {(alarm, f"{name}-health-status"), (alarm, f"{name}-health-time-to-first-byte")}
    if region != "us-east-1":
        found |= {
            ("aws:sns/topic:Topic", f"{name}-health-topic"),
            ("aws:sns/topicSubscription:TopicSubscription", f"{name}-health-topic-subscription-0"),
            ("aws:sns/topicSubscription:TopicSubscription", f"{name}-health-topic-subscription-1"),
            ("pulumi:providers:aws", f"aws-{region}-health-check-metrics"),
        }
    return found


def one(run: StackRun, type_: str, suffix: str = "") -> RegisteredResource:
    found = [r for r in run.resources if r.type == type_ and r.name.endswith(suffix)]
    assert len(found) == 1, (
        f"{run.stack}: expected one {type_} named *{suffix}, found {[r.urn for r in found]}"
    )
    return found[0]


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def test_every_stack_ran_primary_first(program_runs: dict[str, StackRun]) -> None:
    assert list(program_runs) == ["us-east-1", "eu-west-1", "us-west-2"]


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_registers_exactly_its_resources(program_runs: dict[str, StackRun], stack: str) -> None:
    run = program_runs[stack]
    registered = [(r.type, r.name) for r in run.resources]
    assert len(registered) == len(set(registered)), f"{stack}: a resource was registered twice"
    assert set(registered) == expected_resources(stack)


@pytest.mark.parametrize("stack", STACKS)
def test_children_use_the_stack_regions_explicit_providers(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    run = program_runs[stack]
    aws = one(run, "pulumi:providers:aws", f"aws-{stack}")
    kubernetes = one(run, "pulumi:providers:kubernetes")
    assert aws.inputs["region"] == stack
    assert kubernetes.inputs["context"] == f"arn:aws:eks:{stack}:111122223333:cluster/tusk-{_short(stack)}"
    # The one other AWS provider: us-east-1's, for the health-check alarms (Route 53 metrics live there only).
    health_metrics = [r for r in run.resources if r.type == "pulumi:providers:aws" and r.urn != aws.urn]
    assert [r.inputs["region"] for r in health_metrics] == ([] if stack == "us-east-1" else ["us-east-1"])
    for resource in run.resources:
        if resource.type.startswith("aws:") and "-health-" in resource.name and stack != "us-east-1":
            assert resource.provider == health_metrics[0].urn, resource.urn
        elif resource.type.startswith("aws:"):
            assert resource.provider == aws.urn, resource.urn
        elif resource.type.startswith("kubernetes:"):
            assert resource.provider == kubernetes.urn, resource.urn


def _short(stack: str) -> str:
    return {"us-east-1": "use1", "us-west-2": "usw2", "eu-west-1": "euw1"}[stack]


@pytest.mark.parametrize("stack", STACKS)
def test_components_parent_their_children(program_runs: dict[str, StackRun], stack: str) -> None:
    run = program_runs[stack]
    components = {r.name: r.urn for r in run.resources if r.type.startswith("tusk:")}
    for resource in run.resources:
        prefix = resource.name.split(f"-{stack}")[0]
        owner = components.get(f"{prefix}-{stack}")
        if owner is not None and resource.urn != owner:
            assert resource.parent == owner, resource.urn


@pytest.mark.parametrize("stack", STACKS)
def test_redis_is_encrypted_failover_cluster_mode(program_runs: dict[str, StackRun], stack: str) -> None:
    run = program_runs[stack]
    group = one(run, "aws:elasticache/replicationGroup:ReplicationGroup").inputs
    redis = run.settings.data["distributed_cache"]["redis_cluster"]
    assert group["clusterMode"] == "enabled"
    assert group["transitEncryptionEnabled"] is True and group["atRestEncryptionEnabled"] is True
    assert group["automaticFailoverEnabled"] is True and group["multiAzEnabled"] is True
    assert (group["numNodeGroups"], group["replicasPerNodeGroup"]) == (
        redis["shards"],
        redis["replicas_per_shard"],
    )
    assert group["snapshotRetentionLimit"] == redis["snapshot_retention_days"] > 0
    assert isinstance(group["authToken"], Secret)
    params = one(run, "aws:elasticache/parameterGroup:ParameterGroup").inputs
    assert params["family"] == "redis7"
    assert {"name": "cluster-enabled", "value": "yes"} in params["parameters"]


@pytest.mark.parametrize("stack", STACKS)
def test_each_cache_alarm_watches_every_node_of_its_group_of_shards(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    run = program_runs[stack]
    redis = run.settings.data["distributed_cache"]["redis_cluster"]
    shards, replicas = redis["shards"], redis["replicas_per_shard"]
    # The fixture's shards of 3 nodes fit one alarm (at most 10 metrics): 9 nodes in us-east-1, 6 elsewhere.
    assert (shards * (1 + replicas), replicas) == ((9, 2) if stack == "us-east-1" else (6, 2))
    nodes = [
        f"node {shard:04d}-{node:03d}" for shard in range(1, shards + 1) for node in range(1, replicas + 2)
    ]
    alarms = [
        r
        for r in run.resources
        if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm" and "-redis-shards-" in r.name
    ]
    assert len(alarms) == 5
    for alarm in alarms:
        *queries, worst = alarm.inputs["metricQueries"]
        assert [query["label"] for query in queries] == nodes, alarm.urn
        assert [query["id"] for query in queries] == [f"node{i}" for i in range(1, len(nodes) + 1)]
        assert {query["returnData"] for query in queries} == {False}
        assert {query["metric"]["namespace"] for query in queries} == {"AWS/ElastiCache"}
        assert (worst["expression"], worst["returnData"]) == ("MAX(METRICS())", True)
        assert worst["label"].endswith(f", worst node of shards 0001-{shards:04d}"), worst
        assert alarm.inputs["tags"]["tusk-infra.dev/watches"] == f"redis-{stack}-group"


@pytest.mark.parametrize("stack", STACKS)
def test_data_stores_admit_only_the_app(program_runs: dict[str, StackRun], stack: str) -> None:
    run = program_runs[stack]
    for group in (r for r in run.resources if r.type == "aws:ec2/securityGroup:SecurityGroup"):
        (rule,) = group.inputs["ingress"]
        assert rule["securityGroups"] == [f"sg-{_hex(stack)}9f8e7d6c5b4a3"], group.urn
        assert "cidrBlocks" not in rule and group.inputs["egress"] == [], group.urn


def _hex(stack: str) -> str:
    return {"us-east-1": "0a11", "us-west-2": "0b22", "eu-west-1": "0c33"}[stack]


def test_primary_database_is_encrypted_private_and_protected(program_runs: dict[str, StackRun]) -> None:
    run = program_runs["us-east-1"]
    database = run.settings.data["database"]
    instance = one(run, "aws:rds/instance:Instance").inputs
    assert instance["engine"] == "postgres" and instance["engineVersion"] == database["engine_version"]
    assert instance["storageEncrypted"] is True and instance["multiAz"] is True
    assert instance["publiclyAccessible"] is False and instance["deletionProtection"] is True
    assert instance["backupRetentionPeriod"] == database["backup_retention_days"] >= 7
    assert instance["skipFinalSnapshot"] is False and "replicateSourceDb" not in instance
    assert isinstance(instance["password"], Secret)


@pytest.mark.parametrize("stack", STACKS)
def test_parameter_group_carries_max_connections(program_runs: dict[str, StackRun], stack: str) -> None:
    run = program_runs[stack]
    instance = one(run, "aws:rds/instance:Instance").inputs
    group = one(run, "aws:rds/parameterGroup:ParameterGroup").inputs
    assert instance["parameterGroupName"] == group["name"]
    parameters = {p["name"]: p["value"] for p in group["parameters"]}
    assert parameters["max_connections"] == str(run.settings.data["database"]["max_connections"])
    assert parameters["rds.force_ssl"] == "1"


@pytest.mark.parametrize("stack", REPLICAS)
def test_replica_reads_the_primary_arn_from_the_stack_reference(stack: str) -> None:
    arn = "arn:aws:rds:us-east-1:111122223333:db:tusklang-app-us-east-1"
    served = {"us-east-1": {"databaseArn": arn, "databaseAddress": "primary.example.internal"}}
    run = run_stack(PROJECT_DIR, stack, env=PROGRAM_SECRETS, stack_outputs=served)
    instance = one(run, "aws:rds/instance:Instance", "-db").inputs
    assert instance["replicateSourceDb"] == arn
    assert instance["storageEncrypted"] is True and instance["kmsKeyId"] is UNKNOWN
    # The source's password is the replica's; engine and dbName are the source's too (the same values are
    # passed, so promoting the replica changes none of them).
    assert "password" not in instance and instance["engine"] == "postgres"
    env = {e["name"]: e.get("value") for e in _container(one(run, "kubernetes:apps/v1:Deployment"))["env"]}
    assert env["DB_PRIMARY_HOST"] == "primary.example.internal"
    # Writes cross to the primary region's VPC: its range is written once, in the primary's stack file.
    egress = one(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "-netpol").inputs["spec"]["egress"]
    cidr = VPC_CIDRS["us-east-1"]
    assert {"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"port": 5432, "protocol": "TCP"}]} in egress
    assert one(run, "pulumi:pulumi:StackReference").inputs == {"name": "organization/tusk-infra/us-east-1"}


@pytest.mark.parametrize("stack", REPLICAS)
def test_replica_in_a_full_run_gets_the_primarys_unknown_arn(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    # Offline the primary's ARN is only known after deploy; the replica must show it as such, not as None.
    instance = one(program_runs[stack], "aws:rds/instance:Instance").inputs
    assert instance["replicateSourceDb"] is UNKNOWN


@pytest.mark.parametrize("stack", STACKS)
def test_hpa_matches_global_tsk_and_the_seed(program_runs: dict[str, StackRun], stack: str) -> None:
    run = program_runs[stack]
    spec = one(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
    autoscaler = run.settings.data["scaling"]["autoscaler"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (
        autoscaler["min_replicas"],
        autoscaler["max_replicas"],
    )
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 50)
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in spec["metrics"]}
    assert targets == {"cpu": autoscaler["cpu_utilization"], "memory": autoscaler["memory_utilization"]}
    assert targets == {"cpu": 70, "memory": 80}
    assert spec["behavior"] == {
        "scaleUp": {
            "stabilizationWindowSeconds": 60,
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
        },
    }
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tusklang-app"}


@pytest.mark.parametrize("stack", STACKS)
def test_deployment_leaves_replicas_to_the_hpa_and_pdb_stays_below_it(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    run = program_runs[stack]
    deployment = one(run, "kubernetes:apps/v1:Deployment").inputs
    assert "replicas" not in deployment["spec"]
    pdb = one(run, "kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    hpa = one(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
    assert 0 < pdb["minAvailable"] < hpa["minReplicas"]


def _container(deployment: RegisteredResource) -> dict[str, Any]:
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    return dict(container)


@pytest.mark.parametrize("stack", STACKS)
def test_container_matches_the_seed_manifest(program_runs: dict[str, StackRun], stack: str) -> None:
    run = program_runs[stack]
    container = _container(one(run, "kubernetes:apps/v1:Deployment"))
    # The stack pins the release by digest; imageTag names it beside, as the Deployment's version label.
    assert container["image"] == f"tusklang/app@{IMAGE_DIGEST}"
    assert container["imagePullPolicy"] == "IfNotPresent"
    labels = one(run, "kubernetes:apps/v1:Deployment").inputs["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"] == "1.8.3"
    assert container["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}]
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/health", "port": 80},
        "initialDelaySeconds": 30,
        "periodSeconds": 10,
    }
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/ready", "port": 80},
        "initialDelaySeconds": 5,
        "periodSeconds": 5,
    }
    # The seed manifest's variables, in its order; REDIS_CLUSTER_PASSWORD (distributed.tsk reads it with
    # @env.secure) and DB_READ_HOST (this region's instance, for reads) are the only additions.
    assert [e["name"] for e in container["env"]] == [
        "INSTANCE_ID", "REGION", "ZONE", "REDIS_CLUSTER_NODES", "REDIS_CLUSTER_PASSWORD", "DB_PRIMARY_HOST",
        "DB_READ_HOST", "DB_PRIMARY_PORT", "DB_PRIMARY_NAME", "DB_PRIMARY_USER", "DB_PRIMARY_PASSWORD",
    ]  # fmt: skip
    # The ConfigMap and Secrets are named by Pulumi (a new name per content): known after deploy offline.
    assert container["envFrom"] == [{"configMapRef": {"name": UNKNOWN}}]
    env = {e["name"]: e for e in container["env"]}
    assert env["INSTANCE_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["REDIS_CLUSTER_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": UNKNOWN, "key": "password"}
    }
    # Both addresses are the cloud's to know; the primary reads and writes its own instance.
    assert env["DB_PRIMARY_HOST"]["value"] is UNKNOWN and env["DB_READ_HOST"]["value"] is UNKNOWN
    for name, variable in env.items():
        assert ("value" in variable) != ("valueFrom" in variable), f"{stack}: {name}"
    assert (env["REGION"]["value"], env["ZONE"]["value"]) == (stack, f"{stack}a")
    assert env["REDIS_CLUSTER_NODES"]["value"] is UNKNOWN  # the configuration endpoint, known after deploy
    assert (env["DB_PRIMARY_PORT"]["value"], env["DB_PRIMARY_NAME"]["value"]) == ("5432", "tuskapp")
    assert env["DB_PRIMARY_USER"]["valueFrom"] == {"secretKeyRef": {"name": UNKNOWN, "key": "username"}}
    assert env["DB_PRIMARY_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": UNKNOWN, "key": "password"}
    }


@pytest.mark.parametrize("stack", STACKS)
def test_deployment_records_its_connection_budget_inputs(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    run = program_runs[stack]
    annotations = one(run, "kubernetes:apps/v1:Deployment").inputs["metadata"]["annotations"]
    pool = run.settings.data["database"]["primary"]["pool"]["max_open_conns"]
    assert annotations == {
        "tusk-infra.dev/database-identifier": f"tusklang-app-{stack}",
        "tusk-infra.dev/database-primary-identifier": "tusklang-app-us-east-1",
        "tusk-infra.dev/db-pool-max-open-conns": str(pool),
    }
    assert one(run, "aws:rds/instance:Instance").inputs["identifier"] == f"tusklang-app-{stack}"


@pytest.mark.parametrize("stack", STACKS)
def test_config_map_carries_the_regional_settings(program_runs: dict[str, StackRun], stack: str) -> None:
    run = program_runs[stack]
    data = one(run, "kubernetes:core/v1:ConfigMap").inputs["data"]
    settings = run.settings.data
    assert data["CDN_URL"] == f"https://cdn-{stack}.example.com"
    assert data["TIMEZONE"] == settings["regional_settings"]["timezone"]
    assert data["WORKER_COUNT"] == str(settings["performance"]["worker_count"])
    assert data["METRICS_ENDPOINT"] == f"https://metrics-{stack}.example.com"
    assert data["DB_POOL_MAX_OPEN_CONNS"] == ("200" if stack == "us-east-1" else "100")


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_arrive_wrapped_never_plain(program_runs: dict[str, StackRun], stack: str) -> None:
    run = program_runs[stack]
    secrets = set(PROGRAM_SECRETS.values())
    wrapped = []
    for resource in run.resources:
        for path, value in walk(resource.inputs):
            if isinstance(value, Secret):
                wrapped.append(f"{resource.name}{path}")
                continue
            assert not (isinstance(value, str) and any(s in value for s in secrets)), f"{resource.urn}{path}"
    expected = {
        f"redis-{stack}-group.authToken",
        f"app-{stack}-db-secrets.stringData",
        f"app-{stack}-redis-secrets.stringData",
        # The https subscription's endpoint (it may carry an integration key).
        f"alarms-{stack}-topic-subscription-1.endpoint",
    }
    if stack != "us-east-1":
        expected.add(f"alarms-{stack}-health-topic-subscription-1.endpoint")
    if stack == "us-east-1":
        expected.add("postgres-us-east-1-db.password")
    assert sorted(wrapped) == sorted(expected)
    for name, value in walk(run.outputs):
        assert not (isinstance(value, str) and any(s in value for s in secrets)), f"output {name}"
    token = one(run, "aws:elasticache/replicationGroup:ReplicationGroup").inputs["authToken"]
    assert token.reveal() == PROGRAM_SECRETS["REDIS_CLUSTER_PASSWORD"]
    # The only warning: the committed metric snapshot is an example (made-up numbers), until pulled.
    assert run.notices == []
    assert len(run.warnings) == 1 and run.warnings[0].startswith(
        f"metrics/{stack}.json is an example snapshot: made-up numbers"), run.warnings


def _as_manifest(value: Any) -> Any:
    """A registered input as a plain manifest: unknowns as strings, secret maps opened (test only)."""
    if value is UNKNOWN:
        return "known-after-deploy"
    if isinstance(value, Secret):
        return json.loads(value.reveal())
    if isinstance(value, dict):
        return {key: _as_manifest(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_manifest(item) for item in value]
    return value


@pytest.mark.parametrize("version", ["1.30.0", kubernetes_validate.utils.latest_version()])
@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_resource_validates_strictly(
    program_runs: dict[str, StackRun], stack: str, version: str
) -> None:
    manifests = [r for r in program_runs[stack].resources if r.type.startswith("kubernetes:")]
    assert len(manifests) == 11
    for resource in manifests:
        manifest = _as_manifest(resource.inputs)
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{resource.urn}: {'.'.join(map(str, error.path))}: {error.message}")


def test_strict_validation_rejects_an_unknown_field(program_runs: dict[str, StackRun]) -> None:
    # The check above can fail: an unknown field in the same manifest is rejected.
    deployment = _as_manifest(one(program_runs["us-east-1"], "kubernetes:apps/v1:Deployment").inputs)
    deployment["spec"]["replicaz"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.30.0", strict=True)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs(program_runs: dict[str, StackRun], stack: str) -> None:
    outputs = program_runs[stack].outputs
    assert outputs["region"] == stack
    assert outputs["databaseRole"] == ("primary" if stack == "us-east-1" else "replica")
    assert outputs["databaseIdentifier"] == f"tusklang-app-{stack}"
    assert outputs["databaseArn"] is UNKNOWN and outputs["redisConfigurationEndpoint"] is UNKNOWN
    assert (outputs["namespace"], outputs["deployment"]) == ("tusk-app", "tusklang-app")
    assert outputs["vpcCidr"] == VPC_CIDRS[stack]


def test_the_fixture_stack_files_are_the_ones_run() -> None:
    stack_files = sorted(p.name for p in PROJECT_DIR.glob("Pulumi.*-*.yaml"))
    assert stack_files == sorted(f"Pulumi.{s}.yaml" for s in STACKS)


def test_the_program_follows_an_edited_global_tsk(program_project: Path) -> None:
    tsk = program_project / "global.tsk"
    text = tsk.read_text()
    for old, new in [
        ("    max_replicas: 50", "    max_replicas: 80"),
        ("    min_replicas: 3", "    min_replicas: 4"),
        ("        percent: 100 ", "        percent: 50 "),
        ("max_open_conns: @if($region == \"us-east-1\", 200, 100)", "max_open_conns: 120"),
        ("    replicas_per_shard: 2", "    replicas_per_shard: 1"),
    ]:
        assert old in text, old
        text = text.replace(old, new)
    tsk.write_text(text)
    run = run_stack(program_project, "us-east-1", env=PROGRAM_SECRETS)
    spec = one(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (4, 80)
    assert spec["behavior"]["scaleUp"]["policies"] == [{"type": "Percent", "value": 50, "periodSeconds": 15}]
    annotations = one(run, "kubernetes:apps/v1:Deployment").inputs["metadata"]["annotations"]
    assert annotations["tusk-infra.dev/db-pool-max-open-conns"] == "120"
    assert one(run, "aws:elasticache/replicationGroup:ReplicationGroup").inputs["replicasPerNodeGroup"] == 1
