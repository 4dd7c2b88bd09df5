"""`tusk-infra region add|remove REGION`: a region stack added or removed in one step, and what is left to do.

`add` writes Pulumi.REGION.yaml from an existing stack's (the region's own values as placeholders that the
program refuses until they are set), and adds the region to global.tsk's [regional_config] and
database.replica_regions by targeted text edits; `remove` reverses that and lists what `pulumi destroy`
would delete. Both show the primary database's connection budget with the region set they leave.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tusk_infra.aws_regions import known_regions, nearest_regions
from tusk_infra.checks.budget import PrimaryBudget, primary_budget, reserved_connections
from tusk_infra.commands import write_output
from tusk_infra.project import ProjectError, discover_stacks, find_project_dir, select_stacks
from tusk_infra.project_edit import REPLICA_REGIONS, add_region, new_stack_file, remove_region
from tusk_infra.settings import RegionSettings, region_key, settings_from_document
from tusk_infra.stack_config import PROJECT, StackConfig, config_strings, parse_stack_config
from tusk_infra.stack_file import StackFile, load_stack_file, stack_file_path
from tusk_infra.stack_inputs import OfflineSecrets, stack_env, stack_file_secrets
from tusk_infra.tusk import Document, Providers, TuskError, evaluate_text

SETTINGS_FILE = "global.tsk"
# What a placeholder key stands for outside this repository: the work `region add` cannot do.
_TO_BUILD = {
    "vpcId": "a VPC in {region}",
    "subnetIds": "subnets of that VPC, one per zone",
    "zones": "the region's availability zones (the first is the stack's home zone)",
    "appSecurityGroupId": "the app's security group (the only one Redis and Postgres admit)",
    "kubeContext": "an EKS cluster in {region} and its kubeconfig context (e.g. its ARN)",
    "kubeconfig": "the kubeconfig file that holds that context",
    "instance": "a name for the region's app instance (its INSTANCE_ID)",
    "vpcCidr": "that VPC's address range (the NetworkPolicy admits the load balancer from it)",
    "tlsCertificateArn": "an ACM certificate in {region} for the load balancer's TLS listener",
    "serviceAccountRoleArn": "the app's IAM role for its ServiceAccount (IRSA) in {region}'s cluster",
    "metricsDimensions": "the CloudWatch dimensions of {region}'s cluster and database (for metrics pull)",
}


class UsageError(Exception):
    """The command line names a region or stack the project cannot take: exit 2."""


def register(subparsers: Any) -> None:
    """Add `region add` and `region remove` to the command line."""
    parser = subparsers.add_parser(
        "region",
        help="add or remove a region stack (stack file, global.tsk) and say what is left to do",
        description="Add a region as a new replica stack, or remove one, editing Pulumi.<region>.yaml and "
        "global.tsk in place (comments and layout kept).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True,
                                    help="add REGION [--from STACK] or remove REGION")
    add = actions.add_parser(
        "add",
        help="add a replica region",
        description="Write Pulumi.REGION.yaml from an existing stack (the region's own values left as "
        "placeholders that check and preview refuse until set), add the region's block to global.tsk's "
        "[regional_config] and the region to database.replica_regions, and print what is left to do and "
        "the effect on the primary database's connection budget.",
    )
    add.add_argument("region", metavar="REGION",
                     help="an AWS region, e.g. ap-southeast-1; the stack's name too")
    add.add_argument("--from", dest="from_stack", metavar="STACK",
                     help="the stack to copy (default: the first replica stack, in deploy order)")
    _project_dir_argument(add)
    add.set_defaults(handler=run_add)
    remove = actions.add_parser(
        "remove",
        help="remove a replica region",
        description="Delete Pulumi.REGION.yaml, remove the region's block from global.tsk's "
        "[regional_config] and the region from database.replica_regions, and list what `pulumi destroy "
        "--stack REGION` would delete (the resources stay in AWS until then).",
    )
    remove.add_argument("region", metavar="REGION", help="the region stack to remove, e.g. eu-west-1")
    _project_dir_argument(remove)
    remove.set_defaults(handler=run_remove)


def _project_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project-dir", type=Path, default=Path("."), metavar="DIR",
                        help="the directory holding Pulumi.yaml and global.tsk (default: .)")


def run_add(args: argparse.Namespace) -> int:
    """Add the region; print what was written, what is left to do and the connection budget."""
    return _guarded(args, lambda: _add(find_project_dir(args.project_dir), args.region, args.from_stack))


def run_remove(args: argparse.Namespace) -> int:
    """Remove the region; print what was changed and what `pulumi destroy` would delete."""
    return _guarded(args, lambda: _remove(find_project_dir(args.project_dir), args.region))


def _guarded(args: argparse.Namespace, action: Any) -> int:
    command = f"tusk-infra region {args.action}"
    try:
        report: str = action()
    except UsageError as error:
        print(f"{command}: error: {error}", file=sys.stderr)
        return 2
    except ProjectError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 1
    except TuskError as error:
        print(error.render(), file=sys.stderr)
        return 1
    write_output(report)
    return 0


# ---- add ----

def _add(project_dir: Path, region: str, from_stack: str | None) -> str:
    stacks = _stacks(project_dir)
    _check_region_name(region)
    if region in stacks:
        raise UsageError(f"region {region} is already in the project: {stack_file_path(project_dir, region)} "
                         "exists")
    source = _from_stack(project_dir, stacks, from_stack)
    tsk_path = project_dir / SETTINGS_FILE
    text = tsk_path.read_text(encoding="utf-8")
    document = _evaluate(text, tsk_path, source.config, source.stack_file)
    _check_not_declared(document, region)
    new_text = add_region(document, text, source.config.region, region)
    source_text = source.stack_file.path.read_text(encoding="utf-8")
    new_stack = new_stack_file(source.stack_file, source_text, source.config.stack, region)
    before, _ = _budget(project_dir, text, tsk_path, stacks, {})
    after, new_document = _budget(project_dir, new_text, tsk_path, stacks, {region: source})
    stack_path = stack_file_path(project_dir, region)
    stack_path.write_text(new_stack.text, encoding="utf-8")
    tsk_path.write_text(new_text, encoding="utf-8")
    lines = [
        f"Added region {region} (copied from stack {source.config.stack}):",
        f"  {stack_path.name}: written; placeholders to fill: {', '.join(new_stack.placeholders) or 'none'}",
    ]
    if new_stack.dropped:
        lines.append(f"    not copied (the stack's own): {', '.join(new_stack.dropped)}")
    lines.append(f"  {SETTINGS_FILE}: block {region_key(region)} added to [regional_config] (a copy of "
                 f"{region_key(source.config.region)}'s: review its values), {region} added to "
                 f"{REPLICA_REGIONS}")
    lines += ["", "Left to do:", *_to_do(region, new_stack.placeholders, document), ""]
    lines += _budget_lines(before, after, region, "new", new_document)
    return "\n".join(lines) + "\n"


def _to_do(region: str, placeholders: tuple[str, ...], document: Document) -> list[str]:
    steps = []
    for key in placeholders:
        name = key.removeprefix(f"{PROJECT}:")
        what = _TO_BUILD.get(name, f"{region}'s own value of {key}").format(region=region)
        steps.append(f"{what}: {key}")
    secrets = sorted({use.name for use in document.inputs if use.kind == "secret"})
    for name in secrets:
        steps.append(f"the secret {name}: pulumi config set --secret --stack {region} {PROJECT}:{name} ...")
    steps.append(f"then: tusk-infra check --all-stacks; tusk-infra preview --stack {region}; "
                 f"pulumi stack init {region}; pulumi up --stack {region} (after the primary's stack)")
    return [f"  {number}. {step}" for number, step in enumerate(steps, 1)]


def _check_region_name(region: str) -> None:
    if region in known_regions():
        return
    near = nearest_regions(region)
    hint = f"; did you mean {' or '.join(near)}?" if near else " (botocore's list of AWS regions)"
    raise UsageError(f"unknown AWS region {region!r}{hint}")


def _check_not_declared(document: Document, region: str) -> None:
    """A region global.tsk already names (a left-over block or list entry) is not added twice."""
    database = document.get("database")
    places = []
    if region_key(region) in document.get("regional_config"):
        places.append(f"[regional_config] has a block {region_key(region)}")
    if isinstance(database, Mapping) and region in (database.get("replica_regions") or []):
        places.append(f"{REPLICA_REGIONS} lists it")
    if isinstance(database, Mapping) and database.get("primary_region") == region:
        places.append("it is database.primary_region")
    if places:
        raise UsageError(f"region {region} is already in {SETTINGS_FILE}: {'; '.join(places)}")


# ---- remove ----

def _remove(project_dir: Path, region: str) -> str:
    stacks = _stacks(project_dir)
    if region not in stacks:
        raise UsageError(f"no stack '{region}' (no Pulumi.{region}.yaml in {project_dir}); the stacks are: "
                         f"{', '.join(stacks)}")
    primary = _chosen(project_dir, stacks[0])
    tsk_path = project_dir / SETTINGS_FILE
    text = tsk_path.read_text(encoding="utf-8")
    document = _evaluate(text, tsk_path, primary.config, primary.stack_file)
    if document.get("database.primary_region") == region or stacks[0] == region:
        raise UsageError(f"region {region} holds the database primary (database.primary_region); move the "
                         "primary to another region first")
    new_text = remove_region(document, text, region)
    destroyed = _destroy_list(project_dir, region)
    remaining = [stack for stack in stacks if stack != region]
    # The region's own stack values may be placeholders still: it is evaluated with the primary's inputs.
    before, _ = _budget(project_dir, text, tsk_path, remaining, {region: primary})
    after, new_document = _budget(project_dir, new_text, tsk_path, remaining, {})
    tsk_path.write_text(new_text, encoding="utf-8")
    stack_path = stack_file_path(project_dir, region)
    stack_path.unlink()
    lines = [
        f"Removed region {region}:",
        f"  {stack_path.name}: deleted",
        f"  {SETTINGS_FILE}: block {region_key(region)} removed from [regional_config], {region} removed "
        f"from {REPLICA_REGIONS}",
        "",
        f"The region's resources keep running until `pulumi destroy --stack {region}` (then `pulumi stack rm "
        f"{region}`); run it before this change merges, or from a checkout that still has {stack_path.name} "
        "(it holds the stack's secrets settings).",
        *destroyed,
        "",
    ]
    lines += _budget_lines(before, after, region, "removed", new_document)
    return "\n".join(lines) + "\n"


def _destroy_list(project_dir: Path, region: str) -> list[str]:
    """What `pulumi destroy` on the stack would delete: every resource of an offline run of it."""
    from tusk_infra.offline.runner import run_stack
    from tusk_infra.render.plan import READ_TYPES

    try:
        run = run_stack(project_dir, region, env=dict(os.environ))
    except TuskError as error:
        return [f"It cannot be run offline to list them ({error}); `pulumi destroy` deletes whatever the "
                "stack's state holds."]
    resources = [resource for resource in run.resources if resource.type not in READ_TYPES]
    return [f"`pulumi destroy --stack {region}` would delete these {len(resources)} resources:",
            *(f"  - {resource.type}  {resource.name}" for resource in resources)]


# ---- shared ----

@dataclass(frozen=True)
class _Chosen:
    config: StackConfig
    stack_file: StackFile


def _stacks(project_dir: Path) -> list[str]:
    select_stacks(project_dir, None)  # no Pulumi.yaml, no stacks: ProjectError
    return discover_stacks(project_dir)


def _from_stack(project_dir: Path, stacks: list[str], from_stack: str | None) -> _Chosen:
    if from_stack is not None and from_stack not in stacks:
        raise UsageError(f"--from {from_stack}: no stack '{from_stack}' (no Pulumi.{from_stack}.yaml in "
                         f"{project_dir}); the stacks are: {', '.join(stacks)}")
    # The first replica in deploy order (the primary comes first); a project of one stack copies that one.
    name = from_stack or (stacks[1] if len(stacks) > 1 else stacks[0])
    return _chosen(project_dir, name)


def _chosen(project_dir: Path, stack: str) -> _Chosen:
    stack_file = load_stack_file(stack_file_path(project_dir, stack))
    return _Chosen(parse_stack_config(stack, config_strings(stack_file), stack_file), stack_file)


def _evaluate(
    text: str, path: Path, config: StackConfig, stack_file: StackFile, region: str | None = None
) -> Document:
    """global.tsk as `text`, evaluated offline with the stack's inputs (secrets nobody gave: placeholders);
    with `region`, as that region (a new one, whose own stack values are placeholders still)."""
    env = stack_env(config, os.environ)
    if region is not None:
        # Its zones are placeholders: any zone of the region evaluates the same numbers.
        env |= {"REGION": region, "ZONE": f"{region}a", "INSTANCE_ID": "unknown"}
    providers = Providers(env=env, secrets=[stack_file_secrets(stack_file, lambda _message: None),
                                            OfflineSecrets(stack_file)])
    return evaluate_text(text, filename=str(path), providers=providers)


def _budget(
    project_dir: Path, text: str, path: Path, stacks: list[str], new: Mapping[str, _Chosen]
) -> tuple[PrimaryBudget, Document]:
    """The primary's connection budget with global.tsk as `text`, for the stacks and the regions of `new`
    (each evaluated with the inputs of the stack given for it); and the primary's evaluation of `text`."""
    settings: dict[str, RegionSettings] = {}
    primary_document: Document | None = None
    for stack in stacks:
        chosen = _chosen(project_dir, stack)
        document = _evaluate(text, path, chosen.config, chosen.stack_file)
        settings[chosen.config.region] = settings_from_document(document, stack_region=chosen.config.region)
        primary_document = primary_document or document
    for region, source in new.items():
        document = _evaluate(text, path, source.config, source.stack_file, region)
        settings[region] = settings_from_document(document, stack_region=region)
    assert primary_document is not None  # _stacks never returns an empty list
    reserved = reserved_connections(project_dir, stacks[0], primary_document)
    return primary_budget(settings, reserved), primary_document


def _budget_lines(
    before: PrimaryBudget, after: PrimaryBudget, region: str, change: str, document: Document
) -> list[str]:
    lines = [f"Connection budget of the primary database ({after.primary_region}), at full scale "
             "(autoscaler max_replicas x database.primary.pool.max_open_conns):"]
    for writer in after.writers:
        mark = f" ({change})" if writer.region == region else ""
        lines.append(f"  {writer.region}: {writer.pods} pods x {writer.pool} = {writer.connections}{mark}")
    if change == "removed":
        gone = next((w for w in before.writers if w.region == region), None)
        if gone is not None:
            lines.append(f"  {region}: {gone.pods} pods x {gone.pool} = {gone.connections} (removed)")
    lines.append(f"  total {after.demand} (was {before.demand}) of a budget of {after.budget} "
                 f"(max_connections {after.max_connections} - {after.reserved} reserved)")
    if not after.over:
        lines.append(f"  fits, with {after.budget - after.demand} to spare.")
        return lines
    limit = document.provenance("database.max_connections")
    pool = document.provenance("database.primary.pool.max_open_conns")
    lines += [
        f"  OVER by {after.over}: `tusk-infra check` will fail (connection-budget). Either",
        f"  - raise database.max_connections to {after.max_connections_needed} or more "
        f"({Path(limit.file).name}:{limit.line}; every region's instance class must allow it), or",
        f"  - shrink the pools: database.primary.pool.max_open_conns to {after.pool_cap} or less in every "
        f"region ({Path(pool.file).name}:{pool.line}), or lower scaling.autoscaler.max_replicas, or",
        "  - put RDS Proxy or PgBouncer in front of the primary.",
    ]
    return lines
