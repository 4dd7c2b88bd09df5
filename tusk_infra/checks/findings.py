"""What a check reports: one violation of one policy by one resource of one stack, traced to its source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """The configuration line that produced an offending value: a global.tsk expression or a stack setting."""

    file: str
    line: int
    column: int
    # The expression (or stack config key) written there, for display.
    text: str
    # The dotted settings path (or stack config key) the value came from.
    key: str

    @property
    def position(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Finding:
    """One policy violation as `tusk-infra check`, the preview and the diff report it."""

    stack: str
    policy: str
    enforcement: str  # "mandatory" or "advisory", after the stack's overrides
    severity: str
    urn: str
    resource_name: str
    resource_type: str
    message: str
    remediation: str
    # The offending property of the resource (dotted), and the value found there as shown to users.
    path: str
    found: str
    source: SourceLocation | None = None
    # The reason given in the stack's policyAcknowledgements, when one covers this finding.
    acknowledged: str | None = None

    @property
    def is_mandatory(self) -> bool:
        return self.enforcement == "mandatory"

    @property
    def blocking(self) -> bool:
        """Whether this finding fails the check: mandatory and not acknowledged."""
        return self.is_mandatory and self.acknowledged is None
