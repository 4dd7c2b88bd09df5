"""The replace-on-change table (render/replacements.py) against the program's own resources, and the
warning for an RDS major-version upgrade AWS refuses (render/upgrade_warnings.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tusk_infra.offline.model import RegisteredResource, StackRun
from tusk_infra.render.diff import diff_plans
from tusk_infra.render.diff_json import diff_json
from tusk_infra.render.markdown import render_markdown
from tusk_infra.render.plain import Path
from tusk_infra.render.plan import Plan
from tusk_infra.render.replacements import REPLACE_ON_CHANGE, replace_reason
from tusk_infra.render.upgrade_warnings import change_warning

RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
# Registered types the provider replaces only when their identity (metadata.name / namespace) changes.
IDENTITY_ONLY = {"kubernetes:core/v1:Namespace", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
                 "kubernetes:policy/v1:PodDisruptionBudget", "kubernetes:core/v1:ServiceAccount",
                 "kubernetes:networking.k8s.io/v1:NetworkPolicy"}


@pytest.mark.parametrize("resource_type, path, before, after, reason", [
    # The new-user report: a VPC change and a new major version used to read as updates.
    ("aws:ec2/securityGroup:SecurityGroup", ("vpcId",), {}, {}, "vpcId"),
    ("aws:rds/parameterGroup:ParameterGroup", ("family",), {}, {}, "family"),
    ("aws:rds/parameterGroup:ParameterGroup", ("name",), {}, {}, "name"),
    ("aws:rds/subnetGroup:SubnetGroup", ("name",), {}, {}, "name"),
    ("aws:elasticache/parameterGroup:ParameterGroup", ("family",), {}, {}, "family"),
    ("aws:elasticache/subnetGroup:SubnetGroup", ("name",), {}, {}, "name"),
    ("aws:kms/key:Key", ("keyUsage",), {}, {}, "keyUsage"),
    (RDS, ("dbName",), {}, {}, "dbName"),
    (REDIS, ("port",), {}, {}, "port"),
    (REDIS, ("engine",), {"engine": "valkey"}, {"engine": "redis"}, "engine (other than redis → valkey)"),
    (REDIS, ("engineVersion",), {"engineVersion": "7.1"}, {"engineVersion": "6.2"},
     "engineVersion (downgrade)"),
    (REDIS, ("transitEncryptionEnabled",), {"engineVersion": "6.2"}, {"engineVersion": "6.2"},
     "transitEncryptionEnabled (engine < 7.0.5)"),
    ("kubernetes:core/v1:Service", ("spec", "clusterIP"), {}, {}, "spec.clusterIP"),
    ("kubernetes:core/v1:ConfigMap", ("data", "WORKER_COUNT"), {}, {}, "data"),
    ("kubernetes:core/v1:Secret", ("stringData", "DB_PASSWORD"), {}, {}, "stringData"),
    ("kubernetes:core/v1:Namespace", ("metadata", "name"), {}, {}, "metadata.name"),
])
def test_a_property_the_provider_forces_new_replaces(
    resource_type: str, path: Path, before: dict[str, Any], after: dict[str, Any], reason: str
) -> None:
    assert replace_reason(resource_type, path, before, after) == reason


@pytest.mark.parametrize("resource_type, path, before, after", [
    ("aws:rds/subnetGroup:SubnetGroup", ("subnetIds", 0), {}, {}),
    ("aws:ec2/securityGroup:SecurityGroup", ("ingress", 0, "fromPort"), {}, {}),
    ("aws:kms/key:Key", ("enableKeyRotation",), {}, {}),
    (RDS, ("engineVersion",), {}, {}),
    (RDS, ("instanceClass",), {}, {}),
    (REDIS, ("nodeType",), {}, {}),
    (REDIS, ("engine",), {"engine": "redis"}, {"engine": "valkey"}),
    (REDIS, ("engineVersion",), {"engineVersion": "7.0"}, {"engineVersion": "7.1"}),
    (REDIS, ("transitEncryptionEnabled",), {"engineVersion": "7.1"}, {"engineVersion": "7.1"}),
    ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", ("spec", "maxReplicas"), {}, {}),
    # The `.spec` rule of the provider's table is for policy/v1beta1 PodDisruptionBudgets only.
    ("kubernetes:policy/v1:PodDisruptionBudget", ("spec", "minAvailable"), {}, {}),
])
def test_a_property_the_provider_updates_in_place_is_an_update(
    resource_type: str, path: Path, before: dict[str, Any], after: dict[str, Any]
) -> None:
    assert replace_reason(resource_type, path, before, after) is None


def registered_types(runs: dict[str, StackRun]) -> set[str]:
    return {resource.type for run in runs.values() for resource in run.resources
            if resource.custom and not resource.type.startswith("pulumi:")}


def test_every_type_the_program_registers_is_in_the_table(program_runs: dict[str, StackRun]) -> None:
    # A new resource type needs its replace-on-change properties looked up in its provider, not left out.
    missing = registered_types(program_runs) - set(REPLACE_ON_CHANGE) - IDENTITY_ONLY
    assert not missing, f"add to render/replacements.py, from their provider's definition: {missing}"


def test_the_kubernetes_provider_keeps_configmaps_and_secrets_immutable(
    program_runs: dict[str, StackRun],
) -> None:
    # The ConfigMap/Secret entries hold only while the provider leaves enableConfigMapMutable and
    # enableSecretMutable unset; set either and those entries must become conditional on it.
    providers = [resource for run in program_runs.values() for resource in run.resources
                 if resource.type == "pulumi:providers:kubernetes"]
    assert providers
    for provider in providers:
        assert not provider.inputs.get("enableConfigMapMutable"), provider.urn
        assert not provider.inputs.get("enableSecretMutable"), provider.urn


@pytest.mark.parametrize("engine, old, new", [("postgres", "16", "17"), ("postgres", "16.4", "17.1"),
                                              ("postgres", "9.6", "10"), ("mysql", "8.0", "8.4"),
                                              ("mariadb", "10.6", "10.11")])
def test_an_rds_major_upgrade_without_permission_is_warned(engine: str, old: str, new: str) -> None:
    warning = change_warning(RDS, ("engineVersion",), {"engine": engine, "engineVersion": old},
                             {"engine": engine, "engineVersion": new})
    assert warning == (f"a major-version upgrade ({old} → {new}): AWS refuses it unless "
                       "allowMajorVersionUpgrade is true; set allow_major_version_upgrade=True on the "
                       "instance for this change")


@pytest.mark.parametrize("old, new, allowed", [("16", "17", True), ("16.3", "16.4", None), ("17", "16", None),
                                               ("16", "(known after deploy)", None)])
def test_a_minor_or_allowed_upgrade_is_not_warned(old: str, new: str, allowed: bool | None) -> None:
    after = {"engine": "postgres", "engineVersion": new, "allowMajorVersionUpgrade": allowed}
    before = {"engine": "postgres", "engineVersion": old}
    assert change_warning(RDS, ("engineVersion",), before, after) is None


def rds_plan(inputs: dict[str, Any]) -> Plan:
    urn = f"urn:pulumi:us-east-1::tusk-infra::{RDS}::db"
    resource = RegisteredResource(urn, RDS, "db", None, None, True, inputs)
    return {"format": "tusk-infra/plan@1", "stacks": [{
        "stack": "us-east-1", "settings": {}, "provenance": {},
        "resources": [{"urn": resource.urn, "type": resource.type, "name": resource.name, "parent": None,
                       "provider": None, "custom": True, "inputs": resource.inputs}]}]}


def test_the_report_flags_a_refused_upgrade_beside_the_change_and_in_the_summary() -> None:
    diff = diff_plans(rds_plan({"engine": "postgres", "engineVersion": "16"}),
                      rds_plan({"engine": "postgres", "engineVersion": "17"}), base_label="a", head_label="b")
    markdown = render_markdown(diff)
    assert ("> [!WARNING]\n> **1 change(s) will be refused by AWS as written**: see ⚠️ below for each and its "
            "fix.\n") in markdown
    assert ("- `engineVersion`: `\"16\"` → `\"17\"` ⚠️ **a major-version upgrade (16 → 17): AWS refuses it "
            "unless allowMajorVersionUpgrade is true; set allow_major_version_upgrade=True on the instance "
            "for this change**") in markdown
    change = json.loads(diff_json(diff))["stacks"][0]["resources"][0]["changes"][0]
    assert change["warning"].startswith("a major-version upgrade (16 → 17)")
