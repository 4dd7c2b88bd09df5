"""Pulumi's mock monitor, recording every registration the way the engine would see it."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from tusk_infra.offline.model import UNKNOWN, RegisteredResource, Unknown
from tusk_infra.tusk.values import Secret

STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"


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
        return "", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        """The program makes no provider function calls; answering empty keeps a stray one visible."""
        return {}, None

    def _stack_reference_state(self, name: str) -> dict[str, Any]:
        bare = name.rsplit("/", 1)[-1]
        served = self._stack_outputs.get(name, self._stack_outputs.get(bare, self._default_outputs))
        return {
            "name": name,
            "outputs": {key: _to_engine(value) for key, value in served.items()},
            "secretOutputNames": sorted(key for key, value in served.items() if isinstance(value, Secret)),
        }


def _to_engine(value: Any) -> Any:
    """A served output value in the engine's wire form: unknowns as the sentinel, secrets wrapped."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, Secret):
        return rpc.wrap_rpc_secret(value.reveal())
    return value


class RecordingMonitor(MockMonitor):
    """A mock monitor that also keeps, per registration, its URN, parent, provider and converted inputs."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []
        # Registrations arrive on the SDK's worker threads.
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        """Register as the mock monitor does, then record what the engine would have received."""
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self._record(response.urn, request, request.object, bool(request.custom))
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        """Reads (a StackReference is one) are part of the program's resources too."""
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self._record(response.urn, request, request.properties, True)
        return response

    def _record(self, urn: str, request: Any, properties: Any, custom: bool) -> None:
        inputs = rpc.deserialize_properties(properties, keep_unknowns=True)
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
