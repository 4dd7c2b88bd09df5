"""tusk-infra's policies as pure functions over resource properties.

The same validators run inside the CrossGuard pack (`policy/__main__.py`), offline in `tusk-infra check`,
and in pytest. Nothing here imports Pulumi's engine or the TuskLang evaluator; `tusk_policy.crossguard` is
the only module that touches `pulumi_policy`, and only to wrap these functions.
"""

from tusk_policy.catalog import BY_ID, POLICIES
from tusk_policy.model import Config, Enforcement, PlannedChange, PolicyDefinition, Resource, Violation
from tusk_policy.props import UNKNOWN, Sealed, UnknownValue

PACK_NAME = "tusk-infra-policies"

__all__ = [
    "BY_ID",
    "PACK_NAME",
    "POLICIES",
    "UNKNOWN",
    "Config",
    "Enforcement",
    "PlannedChange",
    "PolicyDefinition",
    "Resource",
    "Sealed",
    "UnknownValue",
    "Violation",
]
