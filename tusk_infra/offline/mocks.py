"""Pulumi's mock monitor, recording every registration the way the engine would see it."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from tusk_infra.offline.model import UNKNOWN, RegisteredResource, Unknown
from tusk_infra.tusk.values import Secret

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"
KUBERNETES_TYPE_PREFIX = "kubernetes:"

# The provider functions the program calls, and how the mocks answer them (see OfflineMocks.call).
LB_HOSTED_ZONE_ID = "aws:lb/getHostedZoneId:getHostedZoneId"
ROUTE53_ZONE = "aws:route53/getZone:getZone"

# The canonical hosted zone of a Network Load Balancer per region, what the aws provider's
# getHostedZoneId answers for load_balancer_type "network": fixed AWS values, listed in the "Network Load
# Balancers" column of AWS's "Elastic Load Balancing endpoints and quotas" page (and in
# terraform-provider-aws internal/service/elbv2/hosted_zone_id_data_source.go). A region not listed here is
# answered as unknown: `(known after deploy)` in a preview, never a guess.
NLB_HOSTED_ZONE_IDS: Mapping[str, str] = {
    "us-east-1": "Z26RNL4JYFTOTI",
    "us-east-2": "ZLMOA37VPKANP",
    "us-west-1": "Z24FKFUX50B4VW",
    "us-west-2": "Z18D5FSROUN65G",
    "eu-west-1": "Z2IFOLAFXWLO4F",
    "eu-west-2": "ZD4D7Y8KGAS4G",
    "eu-central-1": "Z3F0SRJ5LGBH90",
    "ap-southeast-1": "ZKVM4W9LS7TM",
    "ap-southeast-2": "ZCT6FZBF4DROD",
    "ap-northeast-1": "Z31USIVHYNEOWT",
}


class UnknownAnswer(Exception):
    """A provider function whose answer only the cloud has (an account's hosted zone): unknown offline."""


class OfflineMocks(Mocks):
    """Answers registrations with their own inputs, so only what the cloud computes stays unknown."""

    def __init__(
        self, stack_outputs: Mapping[str, Mapping[str, Any]], default_outputs: Mapping[str, Any]
    ) -> None:
        # Stack reference name (or its bare stack name) -> that stack's outputs.
        self._stack_outputs = stack_outputs
        self._default_outputs = default_outputs

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        """Echo the inputs; a new resource's id is unknown during a preview, a provider's is not."""
        if args.typ == STACK_REFERENCE_TYPE:
            return args.name, self._stack_reference_state(str(args.inputs.get("name", args.name)))
        if args.typ.startswith(PROVIDER_TYPE_PREFIX):
            return f"{args.name}-provider", dict(args.inputs)
        return "", _with_auto_name(args.typ, dict(args.inputs))

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        """Answer the provider functions the program calls as the provider would, where the answer is a
        fixed AWS value; raise UnknownAnswer where only the cloud knows it. Any other function is answered
        empty, which keeps a stray one visible."""
        if args.token == LB_HOSTED_ZONE_ID:
            return self._lb_hosted_zone_id(args.args), []
        if args.token == ROUTE53_ZONE:
            raise UnknownAnswer(f"{ROUTE53_ZONE}: the hosted zone {args.args.get('name')!r} of the account")
        # A list of failures, even empty: the mock monitor iterates it.
        return {}, []

    @staticmethod
    def _lb_hosted_zone_id(args: Mapping[str, Any]) -> dict[str, Any]:
        region, kind = args.get("region"), args.get("loadBalancerType")
        zone = NLB_HOSTED_ZONE_IDS.get(str(region)) if kind == "network" else None
        if zone is None:
            raise UnknownAnswer(f"{LB_HOSTED_ZONE_ID}: the {kind} load balancer zone of {region}")
        return {"id": zone, "region": region, "loadBalancerType": kind}

    def _stack_reference_state(self, name: str) -> dict[str, Any]:
        bare = name.rsplit("/", 1)[-1]
        served = self._stack_outputs.get(name, self._stack_outputs.get(bare, self._default_outputs))
        return {
            "name": name,
            "outputs": {key: _to_engine(value) for key, value in served.items()},
            "secretOutputNames": sorted(key for key, value in served.items() if isinstance(value, Secret)),
        }


def _with_auto_name(resource_type: str, state: dict[Any, Any]) -> dict[Any, Any]:
    """A Kubernetes object without metadata.name gets one from the provider (`<resource name>-<random>`):
    offline its name is known only after deploy."""
    metadata = state.get("metadata")
    named = isinstance(metadata, dict) and metadata.get("name")
    if resource_type.startswith(KUBERNETES_TYPE_PREFIX) and isinstance(metadata, dict) and not named:
        state["metadata"] = {**metadata, "name": rpc.UNKNOWN}
    return state


def _to_engine(value: Any) -> Any:
    """A served output value in the engine's wire form: unknowns as the sentinel, secrets wrapped."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, Secret):
        return rpc.wrap_rpc_secret(value.reveal())
    return value


@dataclass(frozen=True)
class RecordedInvoke:
    """One provider function call: its token, its arguments and the provider it went to."""

    token: str
    args: Any
    provider: str | None


class RecordingMonitor(MockMonitor):
    """A mock monitor that also keeps, per registration, its URN, parent, provider and converted inputs."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []
        self.invoked: list[RecordedInvoke] = []
        # Registrations arrive on the SDK's worker threads.
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        """Register as the SDK's mock monitor does (the mocks answer with an id and the resource's state), and
        record what the engine would have received.

        The inputs are read off the request once, for the record and the mocks alike. A state that only echoes
        the inputs (nearly every one: see OfflineMocks) goes back as the request's own properties, which are
        exactly its engine form; the SDK's mock monitor would deserialize and re-serialize them, the larger
        part of an offline registration's cost."""
        if request.type == ROOT_STACK_TYPE:
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()  # type: ignore[no-untyped-call]  # a resource reference's deserializing needs one
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        self._record(urn, request, inputs, bool(request.custom))
        resource_id, state = self.mocks.new_resource(MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=bool(request.custom),
        ))
        properties = request.object if state == inputs else _sync_await(rpc.serialize_properties(state, {}))
        # No id (None) and "" are the same on the wire: unset.
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id or "", state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "", object=properties)

    def Invoke(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        """A provider function call, answered by the mocks; an answer only the cloud has is unknown, as the
        engine reports a function it cannot run yet during a preview."""
        try:
            response = super().Invoke(request)  # type: ignore[no-untyped-call]
        except UnknownAnswer:
            response = resource_pb2.ResourceInvokeResponse(unknown=True)
        with self._lock:
            self.invoked.append(
                RecordedInvoke(request.tok, engine_inputs(rpc.deserialize_properties(request.args)),
                               _provider_urn(request.provider))
            )
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        """Reads (a StackReference is one) are part of the program's resources too."""
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        inputs = rpc.deserialize_properties(request.properties, keep_unknowns=True)
        self._record(response.urn, request, inputs, True)
        return response

    def _record(self, urn: str, request: Any, inputs: Any, custom: bool) -> None:
        resource = RegisteredResource(
            urn=engine_urn(urn),
            type=request.type,
            name=request.name,
            parent=engine_urn(request.parent) if request.parent else None,
            provider=_provider_urn(request.provider),
            custom=custom,
            inputs=engine_inputs(inputs),
            aliases=alias_urns(engine_urn(urn), request),
            ignore_changes=tuple(getattr(request, "ignoreChanges", ())),
            replace_on_changes=tuple(getattr(request, "replaceOnChanges", ())),
            property_dependencies=_property_dependencies(request),
        )
        with self._lock:
            self.registered.append(resource)


def engine_urn(urn: str) -> str:
    """The URN the real engine would assign: it leaves the root stack out of its children's type chain,
    which the SDK's mock monitor does not ("...::pulumi:pulumi:Stack$tusk:app:RegionalApp::app")."""
    return urn.replace("::pulumi:pulumi:Stack$", "::", 1)


def alias_urns(urn: str, request: Any) -> tuple[str, ...]:
    """The URNs a registration's aliases name: given as URNs, or as specs relative to the resource's own URN
    (a spec names what differs: its name, type, or parent)."""
    found: list[str] = [engine_urn(alias) for alias in getattr(request, "aliasURNs", ())]
    for alias in getattr(request, "aliases", ()):
        if alias.WhichOneof("alias") == "urn":
            found.append(engine_urn(alias.urn))
        elif alias.WhichOneof("alias") == "spec":
            found.append(_spec_urn(urn, alias.spec))
    return tuple(dict.fromkeys(found))


def _spec_urn(urn: str, spec: Any) -> str:
    """urn:pulumi:STACK::PROJECT::TYPES::NAME with what an alias spec changes (stack, project, name, type;
    a spec with another parent keeps this parent's type chain: the program's aliases only rename)."""
    stack_part, project, types, name = urn.split("::", 3)
    stack = spec.stack or stack_part.removeprefix("urn:pulumi:")
    project = spec.project or project
    chain = types.split("$")
    if spec.type:
        chain[-1] = spec.type
    return f"urn:pulumi:{stack}::{project}::{'$'.join(chain)}::{spec.name or name}"


def _property_dependencies(request: Any) -> dict[str, tuple[str, ...]]:
    """Top-level input name -> the URNs of the resources its value came from."""
    dependencies = getattr(request, "propertyDependencies", {})
    # Sorted: the SDK gathers the URNs in a set, whose order changes with the hash seed.
    return {key: tuple(sorted(engine_urn(urn) for urn in dependencies[key].urns))
            for key in sorted(dependencies) if dependencies[key].urns}


def _provider_urn(reference: str) -> str | None:
    """A provider reference is 'urn::id'; the URN is what names the provider."""
    if not reference:
        return None
    return engine_urn(reference.rsplit("::", 1)[0])


def engine_inputs(value: Any) -> Any:
    """Engine inputs made plain: secrets -> Secret, unknowns -> UNKNOWN, whole floats -> int, keys sorted.

    Keys are sorted because the wire format's maps carry no order we could rely on across processes.
    """
    if rpc.is_rpc_secret(value):
        return _as_secret(rpc.unwrap_rpc_secret(value))
    if isinstance(value, pulumi.output.Unknown) or value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return {key: engine_inputs(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [engine_inputs(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _as_secret(value: Any) -> Secret:
    # A secret that wraps a structure is still one secret: keep its plain JSON inside, masked.
    text = value if isinstance(value, str) else json.dumps(engine_inputs(value), sort_keys=True, default=str)
    return Secret(text)
