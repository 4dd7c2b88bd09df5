"""elasticache-auth-token: Redis clients must authenticate (AUTH token or RBAC user groups)."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.aws import REPLICATION_GROUP
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import Sealed, is_list, is_set, lookup

# ElastiCache's AUTH token rules: 16-128 printable characters, none of these.
_MIN_LENGTH, _MAX_LENGTH = 16, 128
_FORBIDDEN = frozenset('@"/ ')


def _token_problem(token: object) -> str | None:
    """What is wrong with the token's shape, described without ever showing it."""
    if not isinstance(token, str | Sealed):
        return None  # a write-only or computed token: nothing to inspect
    length = len(token)
    characters = token.characters() if isinstance(token, Sealed) else frozenset(token)
    if not _MIN_LENGTH <= length <= _MAX_LENGTH:
        return f"is {length} characters long; ElastiCache needs {_MIN_LENGTH}-{_MAX_LENGTH}"
    if characters & _FORBIDDEN or any(not c.isprintable() for c in characters):
        return 'contains a character ElastiCache rejects (space, @, " or /, or a non-printable one)'
    return None


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """authToken (or authTokenWo, or RBAC userGroupIds) is set, and a plain token has a valid shape."""
    token = lookup(resource.props, "authToken")
    user_groups = lookup(resource.props, "userGroupIds")
    if is_set(token):
        problem = _token_problem(token)
        if problem:
            yield Violation(
                f"authToken {problem}; set a valid REDIS_CLUSTER_PASSWORD secret", "authToken", "[secret]"
            )
        return
    if is_set(lookup(resource.props, "authTokenWo")) or (is_list(user_groups) and len(user_groups) > 0):
        return
    yield Violation(
        "no authToken (nor RBAC userGroupIds): anyone who reaches the cluster's network can read and "
        "write the cache; set distributed_cache.redis_cluster.password from @env.secure",
        "authToken",
        None,
    )


POLICY = PolicyDefinition(
    id="elasticache-auth-token",
    description="ElastiCache replication groups require clients to authenticate (AUTH token or RBAC).",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation="Set auth_token from a Pulumi secret (REDIS_CLUSTER_PASSWORD), with transit encryption on.",
    config_schema={},
    resource_types=frozenset({REPLICATION_GROUP}),
    validate_resource=validate,
    tags=("aws", "elasticache", "security"),
)
