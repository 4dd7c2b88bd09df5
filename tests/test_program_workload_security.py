"""The app's workload security under mocks: restricted pods, its own ServiceAccount, NetworkPolicies, a
deliberate AWS load balancer, auto-named immutable ConfigMap and Secrets, the image by digest; and the
settings / stack config behind them, with positioned errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import PROGRAM_SECRETS
from test_program_stacks import STACKS, VPC_CIDRS, one

from tusk_infra.checks import check_run
from tusk_infra.offline.model import StackRun
from tusk_infra.offline.runner import run_stack, run_stacks
from tusk_infra.settings import SettingsError
from tusk_infra.stack_file import StackConfigError

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
LB = "service.beta.kubernetes.io/aws-load-balancer"
ROLE_ARN = "arn:aws:iam::111122223333:role/tusk-app-usw2"
CERTIFICATE_ARN = "arn:aws:acm:us-west-2:111122223333:certificate/0b5f1c2e-3d4a-4b6c-8e9f-a1b2c3d4e5f6"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def block(cidr: str) -> dict[str, Any]:
    return {"ipBlock": {"cidr": cidr}}


def pod_spec(run: StackRun) -> dict[str, Any]:
    spec: dict[str, Any] = one(run, "kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    return spec


def line_of(path: Path, text: str) -> tuple[int, int]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number, line.index(text) + 1
    raise AssertionError(f"{text!r} not in {path}")


@pytest.mark.parametrize("stack", STACKS)
def test_pods_meet_the_restricted_profile_with_a_high_uid(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    run = program_runs[stack]
    pod = pod_spec(run)
    assert pod["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
        # Port 80 with every capability dropped: the safe sysctl makes it an unprivileged port in the pod.
        "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
    }  # fmt: skip
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
        "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
    }  # fmt: skip
    assert container["ports"][0]["containerPort"] == 80
    # A read-only root still has a scratch directory: a size-limited emptyDir at /tmp.
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    labels = one(run, "kubernetes:core/v1:Namespace").inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


@pytest.mark.parametrize("stack", STACKS)
def test_the_app_has_its_own_service_account_without_a_token(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    run = program_runs[stack]
    account = one(run, "kubernetes:core/v1:ServiceAccount").inputs
    assert account["automountServiceAccountToken"] is False
    assert account["metadata"]["name"] == "tusklang-app" and "annotations" not in account["metadata"]
    pod = pod_spec(run)
    assert pod["serviceAccountName"] == "tusklang-app" and pod["automountServiceAccountToken"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_network_policies_deny_by_default_and_admit_the_apps_flows(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    run = program_runs[stack]
    deny = one(run, NETWORK_POLICY, "-default-deny").inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    spec = one(run, NETWORK_POLICY, "-netpol").inputs["spec"]
    own = VPC_CIDRS[stack]
    assert spec["podSelector"] == {"matchLabels": {"app": "tusklang-app"}}
    assert spec["ingress"] == [{"from": [block(own)], "ports": [{"port": 80, "protocol": "TCP"}]}]
    dns = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                   "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
           "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    stores = {"to": [{"ipBlock": {"cidr": own}}],
              "ports": [{"port": 6379, "protocol": "TCP"}, {"port": 5432, "protocol": "TCP"}]}
    https = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]}
    primary = {"to": [block(VPC_CIDRS["us-east-1"])], "ports": [{"port": 5432, "protocol": "TCP"}]}
    # A replica region writes to the primary database, in the primary region's VPC (its stack's vpcCidr).
    expected = [dns, stores, https] if stack == "us-east-1" else [dns, stores, primary, https]
    assert spec["egress"] == expected


@pytest.mark.parametrize("stack", STACKS)
def test_the_service_is_a_deliberate_network_load_balancer(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    service = one(program_runs[stack], "kubernetes:core/v1:Service").inputs
    assert service["metadata"]["annotations"] == {
        f"{LB}-type": "external",
        f"{LB}-nlb-target-type": "ip",
        f"{LB}-scheme": "internet-facing",
        f"{LB}-attributes": "load_balancing.cross_zone.enabled=true",
        f"{LB}-healthcheck-protocol": "HTTP",
        f"{LB}-healthcheck-port": "traffic-port",
        f"{LB}-healthcheck-path": "/ready",  # the readiness probe's path
    }
    spec = service["spec"]
    assert (spec["type"], spec["externalTrafficPolicy"], spec["allocateLoadBalancerNodePorts"]) == (
        "LoadBalancer", "Cluster", False)
    assert spec["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


@pytest.mark.parametrize("stack", STACKS)
def test_config_map_and_secrets_are_immutable_and_named_by_pulumi(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    run = program_runs[stack]
    deployment = one(run, "kubernetes:apps/v1:Deployment")
    read = [one(run, "kubernetes:core/v1:ConfigMap"), *(
        one(run, "kubernetes:core/v1:Secret", suffix) for suffix in ("-db-secrets", "-redis-secrets"))]
    for resource in read:
        assert resource.inputs["immutable"] is True, resource.urn
        # No fixed name: a changed value is a new object with a new name, so the pods roll.
        assert "name" not in resource.inputs["metadata"], resource.urn
        assert resource.urn in deployment.reads, resource.urn
    # No digest of any value on the pod template (the old config hash is gone): nothing to guess from.
    assert "annotations" not in deployment.inputs["spec"]["template"]["metadata"]


def make_internal(project: Path, region: str) -> None:
    """An internal load balancer, in a region drained from global DNS (Route 53's health checkers are on
    the internet: a serving region's load balancer must be internet-facing)."""
    tsk = project / "global.tsk"
    edit(tsk, 'scheme: "internet-facing"', 'scheme: "internal"')
    text = tsk.read_text(encoding="utf-8")
    block = text.index(f"{region.replace('-', '_')} {{")
    serving = text.index("serving: true", block)
    drained = text[:serving] + "serving: false" + text[serving + len("serving: true"):]
    tsk.write_text(drained, encoding="utf-8")


def test_irsa_role_and_tls_certificate_come_from_the_stack(program_project: Path) -> None:
    stack_file = program_project / "Pulumi.us-west-2.yaml"
    edit(stack_file, "  tusk-infra:databasePrimaryStack:",
         f"  tusk-infra:serviceAccountRoleArn: {ROLE_ARN}\n"
         f"  tusk-infra:tlsCertificateArn: {CERTIFICATE_ARN}\n"
         "  tusk-infra:databasePrimaryStack:")
    make_internal(program_project, "us-west-2")
    run = run_stack(program_project, "us-west-2", env=PROGRAM_SECRETS)
    account = one(run, "kubernetes:core/v1:ServiceAccount").inputs
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE_ARN}
    assert account["automountServiceAccountToken"] is False  # IRSA mounts its own projected token
    service = one(run, "kubernetes:core/v1:Service").inputs
    annotations = service["metadata"]["annotations"]
    assert annotations[f"{LB}-scheme"] == "internal"
    assert (annotations[f"{LB}-ssl-cert"], annotations[f"{LB}-ssl-ports"]) == (CERTIFICATE_ARN, "443")
    assert [p["port"] for p in service["spec"]["ports"]] == [80, 443]
    # Run alone, the replica still knows the primary's VPC range: the primary's stack file holds it.
    egress = one(run, NETWORK_POLICY, "-netpol").inputs["spec"]["egress"]
    primary = VPC_CIDRS["us-east-1"]
    assert {"to": [{"ipBlock": {"cidr": primary}}], "ports": [{"port": 5432, "protocol": "TCP"}]} in egress


def test_a_primary_of_another_project_gives_its_range_through_the_stack_reference(
    program_project: Path,
) -> None:
    stack_file = program_project / "Pulumi.us-west-2.yaml"
    edit(stack_file, "organization/tusk-infra/us-east-1", "organization/tusk-shared/us-east-1")
    served = {"organization/tusk-shared/us-east-1": {"databaseArn": "arn:aws:rds:us-east-1:1:db:x",
                                                     "databaseAddress": "primary.internal",
                                                     "vpcCidr": "10.99.0.0/16"}}
    run = run_stack(program_project, "us-west-2", env=PROGRAM_SECRETS, stack_outputs=served)
    egress = one(run, NETWORK_POLICY, "-netpol").inputs["spec"]["egress"]
    assert {"to": [block("10.99.0.0/16")], "ports": [{"port": 5432, "protocol": "TCP"}]} in egress


def test_the_primary_stack_file_without_a_vpc_cidr_is_reported_there(program_project: Path) -> None:
    primary = program_project / "Pulumi.us-east-1.yaml"
    line = line_of(primary, "tusk-infra:vpcCidr")[0]
    edit(primary, "  tusk-infra:vpcCidr: 10.10.0.0/16\n", "")
    with pytest.raises(StackConfigError) as caught:
        run_stack(program_project, "us-west-2", env=PROGRAM_SECRETS)
    assert caught.value.file == str(primary)
    assert caught.value.message.startswith("missing tusk-infra:vpcCidr in the primary stack's file")
    assert line > 0


def test_extra_egress_and_a_release_tag_without_digest(program_project: Path) -> None:
    edit(program_project / "global.tsk", "    extra_egress: []",
         '    extra_egress: [{cidr: "10.200.0.0/24", port: 9092, protocol: "TCP"}]')
    stack_file = program_project / "Pulumi.us-east-1.yaml"
    edit(stack_file, "  tusk-infra:imageDigest:", "  # tusk-infra:imageDigest:")
    (run,) = run_stacks(program_project, ["us-east-1"], env=PROGRAM_SECRETS)
    egress = one(run, NETWORK_POLICY, "-netpol").inputs["spec"]["egress"]
    assert egress[-1] == {"to": [block("10.200.0.0/24")], "ports": [{"port": 9092, "protocol": "TCP"}]}
    (container,) = pod_spec(run)["containers"]
    assert (container["image"], container["imagePullPolicy"]) == ("tusklang/app:1.8.3", "Always")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    run_as_user: 10001", "    run_as_user: 0",
         "app.security.run_as_user: found the integer 0; expected a value of at least 10000"),
        ('    scheme: "internet-facing"', '    scheme: "public"',
         'app.load_balancer.scheme: found the string "public"; expected "internet-facing" or "internal"'),
        ("    read_only_root_filesystem: true", '    read_only_root_filesystem: "yes"',
         'app.security.read_only_root_filesystem: found the string "yes"; expected true or false'),
        ("    extra_egress: []", '    extra_egress: [{cidr: "10.0.0.0/33", port: 9092, protocol: "TCP"}]',
         'app.network.extra_egress.0.cidr: found the string "10.0.0.0/33"; expected an IPv4 CIDR block like '
         '"10.0.0.0/16"'),
    ],
)
def test_bad_security_settings_are_positioned_in_global_tsk(
    program_project: Path, old: str, new: str, message: str
) -> None:
    tsk = program_project / "global.tsk"
    edit(tsk, old, new)
    with pytest.raises(SettingsError) as caught:
        run_stack(program_project, "us-east-1", env=PROGRAM_SECRETS)
    error = caught.value
    assert (error.file, error.line) == (str(tsk), line_of(tsk, new.strip())[0])
    assert error.message == message


@pytest.mark.parametrize(
    ("old", "new", "value", "message"),
    [
        ("tusk-infra:vpcCidr: 10.20.0.0/16", "tusk-infra:vpcCidr: 10.20.0.0/40", None,
         "tusk-infra:vpcCidr: found '10.20.0.0/40'; expected a value matching"),
        ("tusk-infra:imageDigest: sha256:4b82", "tusk-infra:imageDigest: sha256:XYZ2", None,
         "tusk-infra:imageDigest: found 'sha256:XYZ2"),
        ("  tusk-infra:databasePrimaryStack:",
         f"  tusk-infra:tlsCertificateArn: {CERTIFICATE_ARN.replace('us-west-2', 'us-east-1')}\n"
         "  tusk-infra:databasePrimaryStack:", "arn:aws:acm:us-east-1",
         "tusk-infra:tlsCertificateArn: the certificate is in 'us-east-1', but the stack's aws:region is "
         "'us-west-2'; expected an ACM certificate of 'us-west-2'"),
        ("  tusk-infra:databasePrimaryStack:",
         "  tusk-infra:serviceAccountRoleArn: arn:aws:iam::1111:role/x\n"
         "  tusk-infra:databasePrimaryStack:", None,
         "tusk-infra:serviceAccountRoleArn: found 'arn:aws:iam::1111:role/x'; expected a value matching"),
    ],
)
def test_bad_stack_config_is_positioned_in_the_stack_file(
    program_project: Path, old: str, new: str, value: str | None, message: str
) -> None:
    stack_file = program_project / "Pulumi.us-west-2.yaml"
    edit(stack_file, old, new)
    with pytest.raises(StackConfigError) as caught:
        run_stack(program_project, "us-west-2", env=PROGRAM_SECRETS)
    error = caught.value
    key = new.strip().split(":", 2)[0] + ":" + new.strip().split(":", 2)[1]
    line, column = line_of(stack_file, value) if value else line_of(stack_file, key)
    assert (error.file, error.line) == (str(stack_file), line)
    if value:
        assert error.column == column
    assert error.message.startswith(message), error.message


def test_a_missing_vpc_cidr_says_how_to_set_it(program_project: Path) -> None:
    stack_file = program_project / "Pulumi.us-west-2.yaml"
    edit(stack_file, "  tusk-infra:vpcCidr: 10.20.0.0/16\n", "")
    with pytest.raises(StackConfigError) as caught:
        run_stack(program_project, "us-west-2", env=PROGRAM_SECRETS)
    assert caught.value.message == (
        "missing tusk-infra:vpcCidr; set it with `pulumi config set tusk-infra:vpcCidr <value>`")


def test_a_writable_root_fails_its_policy_at_the_global_tsk_line(program_project: Path) -> None:
    tsk = program_project / "global.tsk"
    assert check_run(run_stack(program_project, "us-east-1", env=PROGRAM_SECRETS), program_project) == []
    edit(tsk, "    read_only_root_filesystem: true", "    read_only_root_filesystem: false")
    findings = check_run(run_stack(program_project, "us-east-1", env=PROGRAM_SECRETS), program_project)
    (finding,) = findings
    assert finding.policy == "container-read-only-root-filesystem" and finding.blocking
    assert finding.source is not None and finding.source.key == "app.security.read_only_root_filesystem"
    assert finding.source.line == line_of(tsk, "read_only_root_filesystem: false")[0]


def test_a_stack_that_allows_internal_load_balancers_only_fails_an_internet_facing_one(
    program_project: Path,
) -> None:
    stack_file = program_project / "Pulumi.us-east-1.yaml"
    stack_file.write_text(stack_file.read_text() + "  tusk-infra:policyConfig:\n"
                          "    load-balancer-scheme-explicit:\n      allowedSchemes: [internal]\n")
    run = run_stack(program_project, "us-east-1", env=PROGRAM_SECRETS)
    (finding,) = check_run(run, program_project)
    assert finding.policy == "load-balancer-scheme-explicit"
    assert finding.source is not None and finding.source.key == "app.load_balancer.scheme"
    make_internal(program_project, "us-east-1")
    assert check_run(run_stack(program_project, "us-east-1", env=PROGRAM_SECRETS), program_project) == []
