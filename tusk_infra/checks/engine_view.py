"""Registered resources as CrossGuard would see them: camelCase inputs, unknowns marked, secrets sealed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tusk_policy import UNKNOWN, Resource, Sealed

from tusk_infra.offline.model import RegisteredResource, Unknown
from tusk_infra.tusk.values import Secret


def engine_value(value: Any) -> Any:
    """One input value with the offline model's markers turned into the policy pack's."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, Secret):
        # The engine hands a policy a secret's plain value; we hand it sealed so no message can print it.
        return Sealed(value.reveal())
    if isinstance(value, Mapping):
        return {str(key): engine_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [engine_value(item) for item in value]
    return value


def _provider(reference: str | None, by_urn: Mapping[str, RegisteredResource]) -> RegisteredResource | None:
    """The provider a reference names: a URN, or the engine's "<provider urn>::<provider id>" form."""
    if not reference:
        return None
    return by_urn.get(reference) or by_urn.get(reference.rsplit("::", 1)[0])


def policy_resources(registered: Sequence[RegisteredResource]) -> list[Resource]:
    """Every custom resource (CrossGuard does not analyze components either), with its provider."""
    by_urn = {r.urn: r for r in registered}
    resources = []
    for item in registered:
        if not item.custom:
            continue
        provider = _provider(item.provider, by_urn)
        resources.append(
            Resource(
                type=item.type,
                props=engine_value(item.inputs),
                urn=item.urn,
                name=item.name,
                provider_type=provider.type if provider is not None else None,
                provider_props=engine_value(provider.inputs) if provider is not None else None,
            )
        )
    return resources
