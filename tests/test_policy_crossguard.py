"""The CrossGuard pack as the Pulumi engine drives it: real pulumi_policy args, engine-shaped properties."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pulumi_policy.policy as policy_sdk
import pytest
from google.protobuf import json_format, struct_pb2
from policy_fixtures import Fixture, load_fixtures
from pulumi.runtime import proto
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UnknownValueError, unknown_checking_proxy
from test_policy_fixtures import run_fixture
from tusk_policy import POLICIES, PolicyDefinition
from tusk_policy.crossguard import crossguard_policies

PACK_MAIN = Path(__file__).resolve().parents[1] / "policy" / "__main__.py"
WRAPPED = {p.name: p for p in crossguard_policies(POLICIES)}
PURE = {p.id: p for p in POLICIES}


def engine_props(props: dict[str, Any]) -> Any:
    """Properties as the analyzer hands them to a policy: through a protobuf Struct (every number becomes a
    float), deserialized, and wrapped in the proxy that raises on values unknown during preview."""
    struct = struct_pb2.Struct()
    struct.update(props)
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def provider_of(raw: dict[str, Any]) -> PolicyProviderResource | None:
    provider = raw.get("provider")
    if not provider:
        return None
    return PolicyProviderResource(
        provider["type"], engine_props(provider["props"]), "urn:provider", "provider"
    )


def drive(fixture: Fixture) -> list[tuple[str, str | None]]:
    """Run the fixture through the wrapped CrossGuard policy; the (message, urn) pairs it reports."""
    reported: list[tuple[str, str | None]] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        reported.append((message, urn))

    wrapped = WRAPPED[fixture.policy_id]
    if isinstance(wrapped, StackValidationPolicy):
        resources = [
            PolicyResource(
                r["type"],
                engine_props(r["props"]),
                r.get("urn", ""),
                r.get("name", ""),
                options(),
                provider_of(r),
                None,
                [],
                {},
            )
            for r in fixture.resources
        ]
        wrapped.validate(StackValidationArgs(resources, fixture.config), report_violation)
        return reported
    assert isinstance(wrapped, ResourceValidationPolicy)
    for r in fixture.resources:
        args = ResourceValidationArgs(
            r["type"],
            engine_props(r["props"]),
            r.get("urn", ""),
            r.get("name", ""),
            options(),
            provider_of(r),
            fixture.config,
        )
        wrapped.validate(args, report_violation)
    return reported


@pytest.mark.parametrize("fixture", load_fixtures(), ids=lambda f: f.case_id)
def test_pack_reports_what_the_pure_policy_reports(fixture: Fixture) -> None:
    if PURE[fixture.policy_id].is_change_policy:
        # It judges a change between two revisions; the engine hands a policy one state: not in the pack.
        assert fixture.policy_id not in WRAPPED
        return
    reported = drive(fixture)
    pure = run_fixture(fixture)
    assert len(reported) == len(pure), f"{fixture.case_id}: {reported} vs {pure}"
    assert [m.split("\nRemediation: ")[0] for m, _ in reported] == [v.message for v in pure]
    assert all(m.endswith(PURE[fixture.policy_id].remediation) for m, _ in reported)
    stack_urns = [urn for _, urn in reported if urn]
    assert all(urn in {r.get("urn") for r in fixture.resources} for urn in stack_urns)


def test_unknown_values_are_left_to_the_engine() -> None:
    # During preview an output-derived maxReplicas is unknown: the engine turns this error into an advisory
    # "can't run policy during preview" note rather than a pass or a false violation.
    hpa = next(f for f in load_fixtures() if f.case_id == "hpa-replica-bounds/seed-manifest").resources[0]
    props = {**hpa["props"], "spec": {**hpa["props"]["spec"], "maxReplicas": UNKNOWN_NUMBER_VALUE}}
    args = ResourceValidationArgs(
        hpa["type"], engine_props(props), hpa["urn"], hpa["name"], options(), None, {}
    )
    with pytest.raises(UnknownValueError):
        WRAPPED["hpa-replica-bounds"].validate(args, lambda message, urn=None: None)


def test_importing_the_pack_module_starts_no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("importing policy/__main__.py started the gRPC server")

    monkeypatch.setattr(policy_sdk.grpc, "server", no_server)
    spec = importlib.util.spec_from_file_location("tusk_policy_pack_main", PACK_MAIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.main)


def servicer(config: dict[str, dict[str, Any]] | None = None) -> Any:
    """The analyzer the pack serves to the engine (what PolicyPack builds before starting its server)."""
    analyzer = policy_sdk._PolicyAnalyzerServicer(  # the SDK's own servicer: no public constructor exists
        "tusk-infra-policies", "0.1.0", crossguard_policies(POLICIES), policy_sdk.EnforcementLevel.ADVISORY
    )
    if config:
        request = proto.ConfigureAnalyzerRequest()
        for name, properties in config.items():
            request.policyConfig[name].properties.update(properties)
            request.policyConfig[name].enforcementLevel = proto.MANDATORY
        analyzer.Configure(request, None)
    return analyzer


def test_analyzer_info_lists_every_policy_with_its_level_and_schema() -> None:
    info = servicer().GetAnalyzerInfo(None, None)
    listed = {p.name: p for p in info.policies}
    assert list(listed) == [p.id for p in POLICIES if not p.is_change_policy]
    for policy in (p for p in POLICIES if not p.is_change_policy):
        assert listed[policy.id].enforcementLevel == (
            proto.MANDATORY if policy.enforcement == "mandatory" else proto.ADVISORY
        )
        assert set(listed[policy.id].configSchema.properties.keys()) == set(policy.config_schema)
        assert listed[policy.id].remediation_steps == policy.remediation


def analyze(analyzer: Any, raw: dict[str, Any]) -> list[Any]:
    struct = struct_pb2.Struct()
    struct.update(raw["props"])
    request = proto.AnalyzeRequest(type=raw["type"], properties=struct, urn=raw["urn"], name=raw["name"])
    return list(analyzer.Analyze(request, None).diagnostics)


def test_engine_request_with_policy_config_picks_the_regional_limit() -> None:
    hpa = next(f for f in load_fixtures() if f.case_id == "hpa-replica-bounds/seed-manifest").resources[0]
    assert analyze(servicer(), hpa) == []
    regional = {"hpa-replica-bounds": {"region": "eu-west-1", "maxReplicasByRegion": {"eu-west-1": 30}}}
    diagnostics = analyze(servicer(regional), hpa)
    assert [d.policyName for d in diagnostics] == ["hpa-replica-bounds"]
    assert "above the limit of 30 in eu-west-1" in diagnostics[0].message


def test_every_policy_schema_default_is_valid_json_schema() -> None:
    import jsonschema
    for policy in POLICIES:
        schema = {"type": "object", "properties": dict(policy.config_schema), "additionalProperties": False}
        jsonschema.Draft7Validator.check_schema(schema)
        jsonschema.validate(policy.defaults(), schema)
        assert set(policy.defaults()) == set(policy.config_schema), (
            f"{policy.id}: every setting needs a default"
        )


def test_policy_definitions_are_complete() -> None:
    for policy in POLICIES:
        assert isinstance(policy, PolicyDefinition)
        assert policy.id == policy.id.lower() and " " not in policy.id
        assert policy.description and policy.remediation
        validators = (policy.validate_resource, policy.validate_stack, policy.validate_change)
        assert sum(validator is not None for validator in validators) == 1, policy.id


def test_the_pack_readme_lists_every_policy_with_its_level() -> None:
    readme = (PACK_MAIN.parent / "README.md").read_text()
    for policy in POLICIES:
        kind = "stack" if policy.is_stack_policy else "change" if policy.is_change_policy else "resource"
        row = f"| `{policy.id}` | {policy.enforcement.value} | {kind} |"
        assert row in readme, f"policy/README.md has no row {row!r}"


def test_the_pack_serves_the_engine_over_grpc() -> None:
    """Launch the pack as the Pulumi CLI does (`python -m pulumi.policy ENGINE DIR`); call it over gRPC."""
    import subprocess
    import sys

    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import analyzer_pb2_grpc

    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(PACK_MAIN.parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            hpa = next(f for f in load_fixtures() if f.case_id == "hpa-replica-bounds/max-80").resources[0]
            struct = struct_pb2.Struct()
            struct.update(hpa["props"])
            request = proto.AnalyzeRequest(
                type=hpa["type"], properties=struct, urn=hpa["urn"], name=hpa["name"]
            )
            diagnostics = stub.Analyze(request, timeout=30).diagnostics
    finally:
        server.kill()
        server.communicate(timeout=30)
    in_pack = [p for p in POLICIES if not p.is_change_policy]
    assert info.name == "tusk-infra-policies" and len(info.policies) == len(in_pack)
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [
        ("hpa-replica-bounds", proto.MANDATORY)
    ]
    assert "spec.maxReplicas is 80, above the limit of 50" in diagnostics[0].message
