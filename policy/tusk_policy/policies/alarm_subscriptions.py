"""alarm-subscriptions: every SNS topic has a subscription, or its alarms notify nobody.

A subscription belongs to a topic when its `topic` ARN ends with the topic's name (in the same stack). While
that ARN is only known after deploy, it belongs to the topic whose Pulumi name its own begins with
(`<topic>-subscription-<n>`, as tusk-infra names them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tusk_policy.aws import SNS_TOPIC, SNS_TOPIC_SUBSCRIPTION
from tusk_policy.kube import stack_of
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import known


def _subscribes(subscription: Resource, topic: Resource) -> bool:
    if stack_of(subscription.urn) != stack_of(topic.urn):
        return False
    arn = known(subscription.props, "topic")
    name = known(topic.props, "name")
    if isinstance(arn, str):
        return isinstance(name, str) and arn.startswith("arn:") and arn.rsplit(":", 1)[-1] == name
    return subscription.name.startswith(f"{topic.name}-subscription-")


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """Each SNS topic has at least one subscription in the stack."""
    subscriptions = [r for r in resources if r.type == SNS_TOPIC_SUBSCRIPTION]
    for topic in (r for r in resources if r.type == SNS_TOPIC):
        if any(_subscribes(subscription, topic) for subscription in subscriptions):
            continue
        name = known(topic.props, "name")
        yield Violation(
            f"SNS topic {name if isinstance(name, str) else topic.name} has no subscription: its alarms "
            "notify nobody; add receivers to the stack's tusk-infra:alarmSubscriptions "
            "(- protocol: email / https, endpoint: ...)",
            urn=topic.urn,
        )


POLICY = PolicyDefinition(
    id="alarm-subscriptions",
    description="Every SNS alarm topic has at least one subscription.",
    # A new stack may start without receivers (an e-mail subscription also waits for its confirmation).
    enforcement=Enforcement.ADVISORY,
    severity="medium",
    remediation=(
        "Add `tusk-infra:alarmSubscriptions: [{protocol: email, endpoint: oncall@example.com}]` to "
        "Pulumi.<stack>.yaml."
    ),
    config_schema={},
    validate_stack=validate,
    tags=("aws", "sns", "alerting"),
)
