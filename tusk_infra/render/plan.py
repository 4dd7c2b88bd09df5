"""The plan model: what an offline stack run would create, as JSON-ready data every output is drawn from.

The same model is printed as a tree, written as `--format json`, and read back by `tusk-infra diff`, which
renders each revision in its own process; so the JSON is the contract between two revisions and carries
`PLAN_FORMAT`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from tusk_infra.offline.model import RegisteredResource, StackRun
from tusk_infra.render.plain import SecretDigests, format_path, to_plain
from tusk_infra.tusk.values import SECRET_MASK, InputUse, Provenance, Secret

PLAN_FORMAT = "tusk-infra/plan@1"
# Resources a preview reads rather than creates, as `pulumi preview` shows them.
READ_TYPES = frozenset({"pulumi:pulumi:StackReference"})


class ResourcePlan(TypedDict):
    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    custom: bool
    inputs: dict[str, Any]
    # The URNs whose outputs the inputs read (only when there are any): a replaced one changes them.
    readsResources: NotRequired[list[str]]
    # Resource options that decide what the engine does with a change (each only when set, so the plan of a
    # resource without them reads as it did before they had keys): the URNs it may have had before, the
    # inputs whose changes are ignored or replace it, and per top-level input the stacks it reads its value
    # from (a StackReference's outputs: unknown offline, but a different stack is a different value).
    aliases: NotRequired[list[str]]
    ignoreChanges: NotRequired[list[str]]
    replaceOnChanges: NotRequired[list[str]]
    reads: NotRequired[dict[str, list[str]]]


class SettingSource(TypedDict):
    location: str
    source: str
    inputs: list[dict[str, Any]]
    # For a value written as a bare reference: each place the reference leads to, the last where the value
    # is written ({location, source}); absent otherwise.
    origin: NotRequired[list[dict[str, str]]]


class StackPlan(TypedDict, total=False):
    stack: str
    resources: list[ResourcePlan]
    outputs: dict[str, Any]
    settings: dict[str, Any]
    provenance: dict[str, SettingSource]
    # The secrets a placeholder stood in for: values not available offline.
    notices: list[str]
    # What the run warned of; only when it did, so a plan without warnings is the JSON it was before they
    # had a key of their own.
    warnings: list[str]
    policy: list[dict[str, Any]]
    # What the stack file says of the change policies (see checks/changes.py), when it says anything.
    changePolicies: dict[str, dict[str, Any]]
    # Only when rendering for a diff: keyed hashes of secrets, by "urn.path", "settings.path", "outputs.path".
    secret_digests: dict[str, str]
    # Only when @metrics read a snapshot: which file, when it was pulled, and its values (never its age).
    metrics_snapshot: dict[str, Any]


class Plan(TypedDict, total=False):
    format: str
    stacks: list[StackPlan]


def build_plan(
    runs: Iterable[StackRun],
    project_dir: Path,
    *,
    findings: Mapping[str, list[dict[str, Any]]] | None = None,
    digest_key: bytes | None = None,
) -> Plan:
    """The plan of every run in the order given (primary first); `findings`: policy results by stack."""
    stacks = [
        build_stack_plan(run, project_dir, findings=(findings or {}).get(run.stack), digest_key=digest_key)
        for run in runs
    ]
    return {"format": PLAN_FORMAT, "stacks": stacks}


def build_stack_plan(
    run: StackRun,
    project_dir: Path,
    *,
    findings: list[dict[str, Any]] | None = None,
    digest_key: bytes | None = None,
) -> StackPlan:
    """One stack's plan: resources sorted by URN (registration order under mocks is not stable)."""
    parts = stack_plan_parts(run, project_dir, digest_key)
    plan: StackPlan = {
        "stack": run.stack,
        "resources": list(parts.resources),
        "outputs": parts.outputs,
        "settings": parts.settings,
        "provenance": parts.provenance,
        "notices": list(run.notices),
    }
    if run.warnings:
        plan["warnings"] = list(run.warnings)
    if findings is not None:
        plan["policy"] = findings
    if parts.secret_digests is not None:
        plan["secret_digests"] = dict(parts.secret_digests)
    snapshot = metrics_snapshot_plan(run)
    if snapshot is not None:
        plan["metrics_snapshot"] = snapshot
    return plan


@dataclass(frozen=True)
class StackPlanParts:
    """The costly parts of a stack's plan, which depend on its run alone (findings are added per plan)."""

    resources: list[ResourcePlan]
    outputs: Any
    settings: Any
    provenance: dict[str, SettingSource]
    # Keyed hashes of the secrets met (sorted by path); None without a digest key.
    secret_digests: dict[str, str] | None


def stack_plan_parts(run: StackRun, project_dir: Path, digest_key: bytes | None = None) -> StackPlanParts:
    """The resources, outputs, settings and provenance of a run as plan data, derived once per run (a
    command's runner step computes them in the worker that ran the stack)."""
    def compute() -> StackPlanParts:
        digests = SecretDigests(digest_key) if digest_key is not None else None
        references = {r.urn: str(r.inputs.get("name", r.name)) for r in run.resources if r.type in READ_TYPES}
        resources = [resource_plan(resource, digests, references)
                     for resource in sorted(run.resources, key=lambda r: r.urn)]
        outputs = to_plain(run.outputs, digests, ("outputs",))
        settings = to_plain(_settings_data(run.settings), digests, ("settings",))
        return StackPlanParts(
            resources=resources,
            outputs=outputs,
            settings=settings,
            provenance=settings_provenance(run.settings, project_dir),
            secret_digests=dict(sorted(digests.by_path.items())) if digests is not None else None,
        )

    # The digest key is part of the key: a diff run's random key hashes differently from a plain preview.
    return run.derive(("stack-plan", project_dir, digest_key), compute)


def metrics_snapshot_plan(run: StackRun) -> dict[str, Any] | None:
    """The snapshot the run's @metrics read, as plan data: a fact of the commit, so the diff can say which
    metric moved a setting. Its age is left out: two renders of one commit must be byte-identical."""
    snapshot = run.metrics_snapshot
    if snapshot is None:
        return None
    return {
        "file": f"{Path(snapshot.path).parent.name}/{Path(snapshot.path).name}",
        "pulled_at": snapshot.pulled_at_text,
        "example": snapshot.example is not None,
        "metrics": {name: {"value": reading.value, "statistic": reading.statistic, "window": reading.window}
                    for name, reading in sorted(snapshot.metrics.items())},
    }


def resource_plan(
    resource: RegisteredResource, digests: SecretDigests | None, references: Mapping[str, str] | None = None
) -> ResourcePlan:
    """One resource with its inputs made JSON-ready (secrets masked, unknowns marked); `references` maps
    the URN of each stack reference of the run to the stack it names."""
    plan: ResourcePlan = {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "parent": resource.parent,
        "provider": resource.provider,
        "custom": resource.custom,
        "inputs": to_plain(resource.inputs, digests, (resource.urn,)),
    }
    if resource.reads:
        plan["readsResources"] = list(resource.reads)
    if resource.aliases:
        plan["aliases"] = list(resource.aliases)
    if resource.ignore_changes:
        plan["ignoreChanges"] = list(resource.ignore_changes)
    if resource.replace_on_changes:
        plan["replaceOnChanges"] = list(resource.replace_on_changes)
    names = references or {}
    reads = {key: sorted({names[urn] for urn in urns if urn in names})
             for key, urns in resource.property_dependencies.items()}
    if any(reads.values()):
        plan["reads"] = {key: stacks for key, stacks in sorted(reads.items()) if stacks}
    return plan


def settings_provenance(document: Any, project_dir: Path) -> dict[str, SettingSource]:
    """Every settings value's global.tsk location, expression text and inputs, keyed by dotted path."""
    if document is None:
        return {}
    sources: dict[str, SettingSource] = {}
    follow = getattr(document, "reference_chain", None)
    for path, provenance in document.provenance_items():
        source = setting_source(provenance, project_dir)
        steps = follow(tuple(path)) if follow is not None else ()
        if steps:
            source["origin"] = [
                {"location": f"{_relative_file(step.file, project_dir)}:{step.line}:{step.column}",
                 "source": step.source}
                for step in steps
            ]
        sources[format_path(tuple(path))] = source
    return dict(sorted(sources.items()))


def setting_source(provenance: Provenance, project_dir: Path) -> SettingSource:
    """A Provenance as plan data, its file relative to the project so two checkouts compare equal."""
    location = f"{_relative_file(provenance.file, project_dir)}:{provenance.line}:{provenance.column}"
    return {
        "location": location,
        "source": provenance.source,
        "inputs": [input_use(use) for use in provenance.inputs],
    }


def input_use(use: InputUse) -> dict[str, Any]:
    """An external input as plan data; a secret's value is never kept, whatever the evaluator recorded."""
    value = SECRET_MASK if use.kind == "secret" or isinstance(use.value, Secret) else to_plain(use.value)
    return {"kind": use.kind, "name": use.name, "value": value, "defaulted": use.defaulted}


def plan_json(plan: Plan) -> str:
    """The plan as text that is byte-identical for the same program and configuration."""
    return json.dumps(plan, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _settings_data(document: Any) -> Any:
    return {} if document is None else document.data


@lru_cache(maxsize=64)
def _relative_file(file: str, project_dir: Path) -> str:
    # Cached: every settings value names the same few files, and resolving a path costs system calls.
    path = Path(file)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return path.name


def merged_notices(*plans: Plan) -> tuple[str, ...]:
    """Each placeholder notice once (values not available offline), prefixed with its stacks unless every
    stack has it (stacks differ: one may have a stack secret that another lacks, and an unprefixed notice
    would then read as true of all of them)."""
    return _merged(plans, "notices")


def merged_warnings(*plans: Plan) -> tuple[str, ...]:
    """Each warning once (a secret stored in plain text, a metric that fell back to its default...), named
    with its stacks like merged_notices."""
    return _merged(plans, "warnings")


def _merged(plans: Iterable[Plan], kind: Literal["notices", "warnings"]) -> tuple[str, ...]:
    stacks_of: dict[str, list[str]] = {}
    every: list[str] = []
    for plan in plans:
        for stack in plan["stacks"]:
            every = every if stack["stack"] in every else [*every, stack["stack"]]
            for message in stack.get(kind, []):
                named = stacks_of.setdefault(message, [])
                if stack["stack"] not in named:
                    named.append(stack["stack"])
    return tuple(message if len(named) == len(every) else f"{', '.join(named)}: {message}"
                 for message, named in stacks_of.items())
