"""What a stack hands global.tsk besides the file itself: its identity as `@env` values, its secret config for
`@env.secure`, and the live backends its stack file enables.

The program (tusk_infra.stack) and `tusk-infra eval/explain --stack` both take a stack's inputs from here,
so evaluating for a stack by hand gives what `pulumi up` gives. Free of pulumi's runtime: eval must not pay
for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from tusk_infra.backends.config import BackendSettings, settings_from_stack_config
from tusk_infra.backends.defaults import snapshot_path
from tusk_infra.stack_config import PROJECT, StackConfig, config_strings
from tusk_infra.stack_file import StackFile


def stack_env(config: StackConfig, env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the stack's region, zone and instance as global.tsk's `@env` reads them; the stack wins, so
    a REGION left in the shell cannot make one stack evaluate as another."""
    return {**env, "REGION": config.region, "ZONE": config.zone, "INSTANCE_ID": config.instance}


def stack_backend_settings(config: StackConfig) -> BackendSettings:
    """Live backends (metrics, secrets, cache, database) as the stack file sets them; offline if unset."""
    if config.source is None:
        return BackendSettings(stack=config.stack)
    source = config.source
    settings = settings_from_stack_config(
        source.values, stack=config.stack, file=str(source.path), positions=source.positions
    )
    return with_metrics_snapshot(settings, source.path.parent, config.stack)


def with_metrics_snapshot(settings: BackendSettings, project_dir: Path, stack: str) -> BackendSettings:
    """`@metrics` read from the stack's snapshot, metrics/<stack>.json in its project (unless live)."""
    return replace(settings, metrics_snapshot=str(snapshot_path(project_dir, stack)))


class StackSecrets:
    """`@env.secure(NAME)` after the environment: the stack's secret config `tusk-infra:NAME`."""

    def __init__(
        self,
        value: Callable[[str], str | None],
        encrypted: Callable[[str], bool],
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        # Both take the full key (tusk-infra:NAME): the value as the program receives it, and whether the
        # stack stores it encrypted.
        self._value = value
        self._encrypted = encrypted
        self._warn = warn

    def lookup(self, name: str) -> str | None:
        """The value of tusk-infra:NAME, or None when the stack has no such key; a plain-text one warns."""
        key = f"{PROJECT}:{name}"
        value = self._value(key)
        if value is not None and not self._encrypted(key):
            self._warn(f"{key} is stored in plain text; set it with `pulumi config set --secret {key} ...`")
        return value


def stack_file_secrets(stack_file: StackFile, warn: Callable[[str], None]) -> StackSecrets:
    """The secret config a stack file holds readably: only plain-text values (an encrypted one needs the
    Pulumi CLI to decrypt, so it is not there)."""
    plain = config_strings(stack_file)
    return StackSecrets(plain.get, lambda key: key in stack_file.secure_keys, warn)


class OfflineSecrets:
    """The last secret source offline: a placeholder for each secret nobody could provide, remembered."""

    def __init__(self, stack_file: StackFile) -> None:
        self._stack_file = stack_file
        self.used: list[str] = []

    def lookup(self, name: str) -> str | None:
        """A placeholder value (never shown: it reaches resources wrapped as a secret)."""
        if name not in self.used:
            self.used.append(name)
        # An encrypted stack secret's placeholder carries a digest of its ciphertext (public: it is in the
        # stack file; the value stays unknown), so a rotated value, a new ciphertext, reads as changed in a
        # diff, which compares secrets by keyed digest and never shows them. Short enough for any length rule.
        ciphertext = self._stack_file.values.get(f"{PROJECT}:{name}")
        if isinstance(ciphertext, dict) and isinstance(ciphertext.get("secure"), str):
            fingerprint = hashlib.sha256(ciphertext["secure"].encode()).hexdigest()[:16]
            return f"offline-placeholder-{name.lower()}-{fingerprint}"
        return f"offline-placeholder-{name.lower()}"

    def notices(self) -> list[str]:
        """One line per placeholder, saying why the real value was not available."""
        return [f"secret {name}: {self.why(name)}; a placeholder secret stands in for it offline"
                for name in self.used]

    def why(self, name: str) -> str:
        """Why the real value of secret `name` is not available offline."""
        key = f"{PROJECT}:{name}"
        if key in self._stack_file.secure_keys:
            return f"{key} is encrypted in {self._stack_file.path.name} (only the Pulumi CLI decrypts)"
        return f"not in the environment and no stack secret {key}"
