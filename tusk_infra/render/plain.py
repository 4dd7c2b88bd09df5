"""What the program registered as JSON-ready values: secrets masked, cloud-computed values marked."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from tusk_infra.offline.model import Unknown
from tusk_infra.tusk.values import SECRET_MASK, Secret

UNKNOWN_MARK = "(known after deploy)"

# Where a value sits inside a resource's inputs or the settings, e.g. ("spec", "selector", "matchLabels").
Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """`("spec", "containers", 0, "image")` -> `spec.containers[0].image`, the way Pulumi's diff writes it."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


class SecretDigests:
    """Keyed hashes of the secrets met while masking, so two renders can tell a changed secret from an
    unchanged one without either value leaving the process that read it. The key is random per diff run."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self.by_path: dict[str, str] = {}

    def record(self, path: Path, secret: Secret) -> None:
        """Remember the keyed hash of `secret` found at `path`."""
        digest = hmac.new(self._key, secret.reveal().encode("utf-8"), hashlib.sha256).hexdigest()
        self.by_path[format_path(path)] = digest


def to_plain(value: Any, digests: SecretDigests | None = None, path: Path = ()) -> Any:
    """A JSON-ready copy of `value`: Secret -> "[secret]", UNKNOWN -> "(known after deploy)"."""
    if isinstance(value, Secret):
        if digests is not None:
            digests.record(path, value)
        return SECRET_MASK
    if isinstance(value, Unknown):
        return UNKNOWN_MARK
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): to_plain(item, digests, (*path, str(key))) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item, digests, (*path, index)) for index, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        # Sets have no order of their own; sorting their text keeps the plan byte-stable across hash seeds.
        return sorted((to_plain(item, digests, path) for item in value), key=str)
    # Anything else (an asset, an enum) is shown by its text, which never holds a secret: those are Secret.
    return str(value)
