"""alarm-has-topic: every CloudWatch alarm notifies an SNS topic when it fires and when it clears."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from tusk_policy.aws import METRIC_ALARM, arn_region, provider_region
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import UNKNOWN, is_list, is_unknown, lookup, show

_SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """alarmActions and okActions each hold at least one action, and every action known is an SNS topic ARN
    in the alarm's own region (CloudWatch notifies only topics of its region). An action known only after
    deploy is another resource's output (a topic the same program creates): the real engine checks it once
    the topic exists."""
    region = provider_region(resource.provider_props)
    for path in config["requiredActions"]:
        actions = lookup(resource.props, path)
        if not is_list(actions) or len(actions) == 0:
            yield Violation(
                f"{path} is {show(actions) if not is_list(actions) else 'empty'}: "
                f"{_what_is_lost(path)}; add the region's SNS alarm topic's ARN",
                path,
                actions,
            )
            continue
        for index in range(len(actions)):
            action = _known_item(actions, index)
            if action is UNKNOWN:
                continue
            if not isinstance(action, str) or not _SNS_TOPIC_ARN.match(action):
                yield Violation(
                    f"{path}.{index} is {show(action)}, not an SNS topic ARN: no one is told; "
                    "notify the region's SNS alarm topic",
                    f"{path}.{index}",
                    action,
                )
            elif region is not None and arn_region(action) != region:
                yield Violation(
                    f"{path}.{index} is a topic in {arn_region(action)}, but the alarm is in {region}: "
                    "CloudWatch notifies only topics of the alarm's region",
                    f"{path}.{index}",
                    action,
                )


def _known_item(items: Sequence[Any], index: int) -> Any:
    """A list item, or UNKNOWN when only known after deploy (CrossGuard's proxy raises on reading one)."""
    try:
        item = items[index]
    except Exception:  # pulumi_policy's UnknownValueError, which this pure module does not import
        return UNKNOWN
    return UNKNOWN if is_unknown(item) else item


def _what_is_lost(path: str) -> str:
    if path == "okActions":
        return "nobody hears that the alarm has cleared"
    return "the alarm fires silently"


POLICY = PolicyDefinition(
    id="alarm-has-topic",
    description="CloudWatch alarms notify an SNS topic of their region on ALARM and on OK.",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation=(
        "Give the alarm alarm_actions=[topic.arn] and ok_actions=[topic.arn] with the region's SNS topic "
        "(tusk_infra/components/alerting.py does for every alarm it creates)."
    ),
    config_schema={
        "requiredActions": {
            "type": "array",
            "items": {"type": "string", "enum": ["alarmActions", "okActions", "insufficientDataActions"]},
            "default": ["alarmActions", "okActions"],
            "description": "The action lists every alarm must fill with SNS topic ARNs.",
        },
    },
    resource_types=frozenset({METRIC_ALARM}),
    validate_resource=validate,
    tags=("aws", "cloudwatch", "alerting"),
)
