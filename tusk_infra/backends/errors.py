"""The one error a live backend raises when it cannot answer; its message is always safe to print."""

from __future__ import annotations


class BackendError(Exception):
    """A backend could not answer (access denied, unreachable, query rejected). Never holds a secret value."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
