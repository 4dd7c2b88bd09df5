"""The one error a live backend raises when it cannot answer; its message is always safe to print."""

from __future__ import annotations

from tusk_infra.tusk.providers import ProviderError


class BackendError(ProviderError):
    """A backend could not answer (access denied, unreachable, query rejected). Never holds a secret value.

    A ProviderError, so the evaluator shows the message at the expression that asked.
    """
