"""A stack's own configuration (Pulumi.<stack>.yaml): what belongs to the stack rather than to global.tsk.

The program reads values through `pulumi.Config`; this module types them and, when one is wrong, points at
the key in Pulumi.<stack>.yaml (file:line:col) so the message is as actionable as a global.tsk error.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tusk_infra.aws_regions import known_regions, nearest_regions
from tusk_infra.backends.config import STACK_KEYS as BACKEND_KEYS
from tusk_infra.stack_file import StackConfigError, StackFile, node_position, source_line
from tusk_infra.stack_file import load_stack_file as load_stack_file  # re-exported: its old home

# yaml is imported where nodes are looked into: `eval FILE` reads no stack file and never loads it.
if TYPE_CHECKING:
    import yaml

PROJECT = "tusk-infra"

# Stack config keys: (field, key in the tusk-infra namespace, kind, required). aws:region is handled apart.
CONFIG_KEYS: tuple[tuple[str, str, str, bool], ...] = (
    ("zones", "zones", "list", True),
    ("instance", "instance", "str", True),
    ("vpc_id", "vpcId", "str", True),
    ("subnet_ids", "subnetIds", "list", True),
    ("app_security_group_id", "appSecurityGroupId", "str", True),
    ("kubeconfig", "kubeconfig", "str", False),
    ("kube_context", "kubeContext", "str", True),
    ("image_tag", "imageTag", "str", True),
    ("database_primary_stack", "databasePrimaryStack", "str", True),
    # The region's VPC address range: the NetworkPolicy admits the NLB (ip targets) and reaches Redis and
    # Postgres there. The primary region's range comes from the primary stack (its output vpcCidr).
    ("vpc_cidr", "vpcCidr", "str", True),
    # IRSA: the IAM role of the app's ServiceAccount (EKS mounts its own projected token for it).
    ("service_account_role_arn", "serviceAccountRoleArn", "str", False),
    # An ACM certificate in the stack's region: the NLB then also listens with TLS on 443.
    ("tls_certificate_arn", "tlsCertificateArn", "str", False),
    # The image by digest (sha256:<64 hex>); imageTag stays the release's name for people.
    ("image_digest", "imageDigest", "str", False),
    ("alarm_subscriptions", "alarmSubscriptions", "subscriptions", False),
)
REGION_KEY = "aws:region"
# CONFIG_KEYS whose value every region stack shares: `tusk-infra region add` copies them from the stack it
# starts from. Every other key is the region's own (its network, cluster, zones...) and is written as a
# placeholder, so a key added to CONFIG_KEYS later is a placeholder until it is listed here.
SHARED_KEYS: frozenset[str] = frozenset(
    # The same in every region: one release (tag and digest), one primary, one on-call rota.
    {"imageTag", "imageDigest", "databasePrimaryStack", "alarmSubscriptions"}
)
# How a placeholder value starts ("<fill in: ...>"): the program refuses one, at its line, until it is set.
PLACEHOLDER_MARK = "<fill in"
# The policy checks' keys: defined here and imported by tusk_infra.checks, which builds on this module. The
# program under `pulumi up` checks stack files too, and must not import the checks (nor their jsonschema).
POLICY_ACKNOWLEDGEMENTS_KEY = f"{PROJECT}:policyAcknowledgements"
POLICY_CONFIG_KEY = f"{PROJECT}:policyConfig"
# Every tusk-infra: key some part reads: the program's own, the live backends', the policy checks'.
KNOWN_KEYS: frozenset[str] = frozenset(
    {f"{PROJECT}:{key}" for _field, key, _kind, _required in CONFIG_KEYS}
    | {key for key in BACKEND_KEYS if key.startswith(f"{PROJECT}:")}
    | {POLICY_ACKNOWLEDGEMENTS_KEY, POLICY_CONFIG_KEY}
)
# Any other UPPER_CASE name is a secret or environment value that @env.secure reads (tusk-infra:NAME).
_SECRET_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")

_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "vpc_id": re.compile(r"^vpc-[0-9a-f]{8,17}$"),
    "subnet_ids": re.compile(r"^subnet-[0-9a-f]{8,17}$"),
    "app_security_group_id": re.compile(r"^sg-[0-9a-f]{8,17}$"),
    "image_tag": re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"),
    "database_primary_stack": re.compile(r"^([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+$"),
    "vpc_cidr": re.compile(
        r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}/(3[0-2]|[12]?\d)$"
    ),
    "service_account_role_arn": re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$"),
    "tls_certificate_arn": re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"),
    "image_digest": re.compile(r"^sha256:[0-9a-f]{64}$"),
}
# An EKS cluster's ARN, as `aws eks update-kubeconfig` names the kubeconfig context it writes.
_EKS_CLUSTER_ARN = re.compile(r"^arn:[^:]+:eks:(?P<region>[^:]*):[^:]*:cluster/(?P<name>.+)$")


@dataclass(frozen=True)
class AlarmSubscription:
    """One receiver of the region's alarms: an SNS protocol and its endpoint."""

    protocol: str
    # An e-mail address, or an https:// URL (which may carry a token: the program passes it on as a secret).
    endpoint: str = field(repr=False)


# SNS protocols a person or an incident tool receives alarms by, and what each endpoint must look like.
SUBSCRIPTION_PROTOCOLS: Mapping[str, tuple[re.Pattern[str], str]] = {
    "email": (re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), "an e-mail address like ops@example.com"),
    "https": (re.compile(r"^https://[^\s/]+\S*$"), "an https:// URL"),
}


@dataclass(frozen=True)
class StackConfig:
    """One stack's typed configuration."""

    stack: str
    region: str
    zones: tuple[str, ...]
    instance: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    app_security_group_id: str
    # Without kubeconfig the Kubernetes provider uses the ambient one ($KUBECONFIG or ~/.kube/config).
    kubeconfig: str | None
    kube_context: str
    image_tag: str
    database_primary_stack: str
    vpc_cidr: str
    service_account_role_arn: str | None = None
    tls_certificate_arn: str | None = None
    image_digest: str | None = None
    # The primary region's VPC range, from the primary stack's own file beside this one (None: this stack is
    # the primary, or the primary is another project's stack; the program then reads its vpcCidr output).
    primary_vpc_cidr: str | None = None
    # Who the region's alarms notify (tusk-infra:alarmSubscriptions); none is allowed, and a policy warns.
    alarm_subscriptions: tuple[AlarmSubscription, ...] = ()
    # Where the values were written, for positioned errors found later (None: no stack file was found).
    source: StackFile | None = field(default=None, compare=False, repr=False)

    def error(self, key: str, message: str) -> StackConfigError:
        """A StackConfigError at a key of this stack's file."""
        return _error(self.source or _unknown_file(self.stack), key, message)

    def value_error(self, key: str, message: str) -> StackConfigError:
        """A StackConfigError at a key's value in this stack's file: the value is what is wrong."""
        return _value_error(self.source or _unknown_file(self.stack), key, message)

    @property
    def zone(self) -> str:
        """The stack's home zone: the first of its zones."""
        return self.zones[0]

    @property
    def database_primary_stack_name(self) -> str:
        """The bare stack name of the database primary (organization/project/ prefix removed)."""
        return self.database_primary_stack.rsplit("/", 1)[-1]


def config_strings(stack_file: StackFile) -> dict[str, str]:
    """The stack's plain config as the Pulumi engine hands it to a program: strings, objects as JSON."""
    strings: dict[str, str] = {}
    for key, value in stack_file.values.items():
        # `key:` with no value is no value: the program then reports the key as missing, not as "null".
        if key in stack_file.secure_keys or value is None:
            continue
        strings[key] = stack_file.number_texts.get(key) or _as_config_string(value)
    return strings


def _as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def parse_stack_config(
    stack: str, raw: Mapping[str, str | None], stack_file: StackFile | None
) -> StackConfig:
    """Type the raw config strings (full keys, e.g. 'tusk-infra:vpcId') of one stack."""
    where = stack_file or _unknown_file(stack)
    if stack_file is not None:
        _check_known_keys(stack_file)
        _check_placeholders(stack_file)
    region = _region(raw, where)
    fields: dict[str, Any] = {}
    for name, key, kind, required in CONFIG_KEYS:
        full_key = f"{PROJECT}:{key}"
        text = _required(raw, full_key, where) if required else raw.get(full_key)
        if kind == "subscriptions":
            fields[name] = () if text is None else _subscriptions(full_key, text, where)
            continue
        fields[name] = None if text is None else _typed(name, full_key, kind, text, where)
    fields["primary_vpc_cidr"] = _primary_vpc_cidr(stack, fields["database_primary_stack"], stack_file)
    config = StackConfig(stack=stack, region=region, source=stack_file, **fields)
    _check_zones(config, where)
    _check_kube_context(config, where)
    _check_certificate_region(config, where)
    return config


def _primary_vpc_cidr(stack: str, primary_stack: str, stack_file: StackFile | None) -> str | None:
    """The vpcCidr written in the primary stack's file, when it is this project's and not this stack: one
    place holds each VPC's range, so no copy in a replica's file can drift from it."""
    parts = primary_stack.split("/")
    name = parts[-1]
    if name == stack or stack_file is None or (len(parts) == 3 and parts[1] != PROJECT):
        return None
    path = stack_file.path.parent / f"Pulumi.{name}.yaml"
    if not path.is_file():
        return None
    primary = load_stack_file(path)
    key = f"{PROJECT}:vpcCidr"
    text = config_strings(primary).get(key)
    if text is None:
        raise _error(primary, key, f"missing {key} in the primary stack's file (stack {stack} writes to its "
                                   f"database across regions); set it with `pulumi config set {key} <value>`")
    typed: str = _typed("vpc_cidr", key, "str", text, primary)
    return typed


def _check_known_keys(stack_file: StackFile) -> None:
    """A tusk-infra: key nothing reads is a misspelling (`vpcID`): report it where it is written, not as the
    missing key it was meant to be."""
    namespace = f"{PROJECT}:"
    for key in stack_file.values:
        name = key.removeprefix(namespace)
        if key == name or key in KNOWN_KEYS or _SECRET_NAME.match(name):
            continue
        message = f"unknown key {key}: no part of tusk-infra reads it; {_suggestion(name)}"
        raise _error(stack_file, key, message)


def is_placeholder(value: Any) -> bool:
    """Whether a stack-file value is a placeholder `tusk-infra region add` wrote ("<fill in: ...>")."""
    return isinstance(value, str) and value.startswith(PLACEHOLDER_MARK)


def placeholder_nodes(stack_file: StackFile) -> list[tuple[str, yaml.Node]]:
    """(key, node) of every placeholder left in the file, list items and mapping values included."""
    import yaml

    found: list[tuple[str, yaml.Node]] = []
    for key, node in stack_file.value_nodes.items():
        pending = [node]
        while pending:
            current = pending.pop(0)
            if isinstance(current, yaml.ScalarNode) and is_placeholder(current.value):
                found.append((key, current))
            elif isinstance(current, yaml.SequenceNode):
                pending.extend(current.value)
            elif isinstance(current, yaml.MappingNode):
                pending.extend(value for _key, value in current.value)
    return found


def _check_placeholders(stack_file: StackFile) -> None:
    """A value still "<fill in: ...>" is refused where it is written: deploying it would fail in the cloud,
    or worse, succeed somewhere unintended."""
    import yaml

    found = placeholder_nodes(stack_file)
    if not found:
        return
    key, node = found[0]
    others = sorted({other for other, _node in found[1:] if other != key})
    more = f"; placeholders remain in {', '.join(others)} too" if others else ""
    line, column = node_position(node)
    parent = stack_file.value_nodes[key]
    items = parent.value if isinstance(parent, yaml.SequenceNode) else []
    target = f"--path '{key}[{items.index(node)}]'" if node in items else key
    message = (f"{key} still holds a placeholder that `tusk-infra region add` wrote, "
               f"{json.dumps(node.value)}; set the stack's own value (`pulumi config set {target} VALUE`)"
               f"{more}")
    raise _positioned((str(stack_file.path), line, column), message)


def _suggestion(name: str) -> str:
    """The known keys nearest to a misspelt name (compared ignoring case), or what the keys are."""
    known = {key.removeprefix(f"{PROJECT}:").lower(): key for key in sorted(KNOWN_KEYS)}
    # A shortened key (`policyAck`) reads best as the keys it begins; otherwise the closest spellings.
    begun = [key for lower, key in known.items() if len(name) >= 4 and lower.startswith(name.lower())]
    close = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.6)
    near = begun or [known[match] for match in close]
    if near:
        return f"did you mean {' or '.join(near)}?"
    if "_" in name and _SECRET_NAME.match(name.upper()):
        return f"secret names are UPPER_CASE: did you mean {PROJECT}:{name.upper()}?"
    return f"expected one of {', '.join(sorted(KNOWN_KEYS))}, or an UPPER_CASE secret name"


def _region(raw: Mapping[str, str | None], where: StackFile) -> str:
    """aws:region, one AWS knows: a misspelt one would otherwise surface as every zone being elsewhere."""
    region = _required(raw, REGION_KEY, where)
    if region in known_regions():
        return region
    near = nearest_regions(region)
    hint = (f": did you mean {' or '.join(near)}?" if near else
            " like 'us-east-1' (a region newer than the installed boto3? upgrade boto3, whose list this is)")
    raise _value_error(where, REGION_KEY, f"{REGION_KEY}: found {region!r}; expected an AWS region{hint}")


def _required(raw: Mapping[str, str | None], key: str, where: StackFile) -> str:
    value = raw.get(key)
    if value is None or value == "":
        misspelt = _misspelling_of(key, where)
        if misspelt is not None:
            raise _error(where, misspelt, f"missing {key}; found {misspelt} here: did you mean {key}?")
        raise _error(where, key, f"missing {key}; set it with `pulumi config set {key} <value>`")
    return value


def _misspelling_of(key: str, where: StackFile) -> str | None:
    """A key written in the file that nothing reads and that is spelt nearly like the missing `key`
    (`aws:regoin`). Only tusk-infra: keys are all known; aws: has many more the provider reads."""
    if key in where.positions:
        return None  # written without a value: reported at the key itself
    unread = {written.lower(): written for written in where.values if written not in KNOWN_KEYS}
    close = difflib.get_close_matches(key.lower(), unread, n=1, cutoff=0.8)
    return unread[close[0]] if close else None


def _typed(name: str, key: str, kind: str, text: str, where: StackFile) -> Any:
    if kind == "str":
        _check_pattern(name, key, text, where)
        return text
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        items = None
    if not isinstance(items, list) or not items or not all(isinstance(item, str) for item in items):
        raise _error(where, key, f"{key}: found {text!r}; expected a non-empty list of strings")
    for item in items:
        _check_pattern(name, key, item, where)
    return tuple(items)


def _subscriptions(key: str, text: str, where: StackFile) -> tuple[AlarmSubscription, ...]:
    """tusk-infra:alarmSubscriptions: a list of {protocol, endpoint}; each problem is reported at its item."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        items = None
    if not isinstance(items, list):
        raise _value_error(where, key, f"{key}: expected a list of {{protocol, endpoint}} entries")
    return tuple(_subscription(key, index, item, where) for index, item in enumerate(items))


def _subscription(key: str, index: int, item: Any, where: StackFile) -> AlarmSubscription:
    at = f"{key}[{index}]"
    if not isinstance(item, dict):
        raise _item_error(where, key, index, None, f"{at}: expected a mapping {{protocol, endpoint}}")
    unknown = sorted(set(map(str, item)) - {"protocol", "endpoint"})
    if unknown:
        message = f"{at}: unknown field '{unknown[0]}'; expected protocol and endpoint"
        raise _item_error(where, key, index, unknown[0], message)
    protocol = item.get("protocol")
    if not isinstance(protocol, str) or protocol not in SUBSCRIPTION_PROTOCOLS:
        found = "nothing" if protocol is None else repr(protocol)
        expected = " or ".join(SUBSCRIPTION_PROTOCOLS)
        raise _item_error(where, key, index, "protocol", f"{at}.protocol: found {found}; expected {expected}")
    pattern, words = SUBSCRIPTION_PROTOCOLS[protocol]
    endpoint = item.get("endpoint")
    if not isinstance(endpoint, str) or not pattern.match(endpoint):
        # The endpoint is not echoed: an https endpoint may carry an integration key.
        found = "nothing" if endpoint is None else f"a {type(endpoint).__name__} that is not one"
        message = f"{at}.endpoint: found {found}; expected {words} for protocol {protocol}"
        raise _item_error(where, key, index, "endpoint", message)
    return AlarmSubscription(protocol, endpoint)


def _item_error(
    where: StackFile, key: str, index: int, field_name: str | None, message: str
) -> StackConfigError:
    """An error at a list item of a key's value (at its field's value when named), else at the key."""
    import yaml

    node = where.value_nodes.get(key)
    items = node.value if isinstance(node, yaml.SequenceNode) else []
    target = items[index] if index < len(items) else None
    if isinstance(target, yaml.MappingNode) and field_name is not None:
        # An unknown field is wrong as a key; a known one has a wrong value.
        known = field_name in ("protocol", "endpoint")
        fields = {str(k.value): (v if known else k) for k, v in target.value}
        target = fields.get(field_name, target)
    if target is None:
        return _value_error(where, key, message)
    line, column = node_position(target)
    error = _positioned((str(where.path), line, column), message)
    endpoint_value = field_name == "endpoint" and not isinstance(target, yaml.MappingNode)
    if endpoint_value and error.source_line is not None:
        # Neither the message nor its snippet shows an endpoint: an https one may carry an integration key.
        error.source_line = f"{error.source_line[: column - 1]}[secret]"
    return error


def _check_pattern(name: str, key: str, text: str, where: StackFile) -> None:
    pattern = _PATTERNS.get(name)
    if pattern is not None and not pattern.match(text):
        raise _error(where, key, f"{key}: found {text!r}; expected a value matching {pattern.pattern}")


def _check_zones(config: StackConfig, where: StackFile) -> None:
    for zone in config.zones:
        if not zone.startswith(config.region):
            message = f"{PROJECT}:zones: zone {zone!r} is not in region {config.region!r}"
            raise _error(where, f"{PROJECT}:zones", message)


def _check_kube_context(config: StackConfig, where: StackFile) -> None:
    """An EKS cluster named by its ARN must be in the stack's own region: two stacks deploying into one
    cluster would write the same Kubernetes object names. A plain context name says nothing of its region."""
    key = f"{PROJECT}:kubeContext"
    cluster = _EKS_CLUSTER_ARN.match(config.kube_context)
    if cluster is not None and cluster["region"] != config.region:
        raise _value_error(where, key, (
            f"{key}: EKS cluster {cluster['name']!r} is in {cluster['region']!r}, but the stack's "
            f"{REGION_KEY} is {config.region!r}; expected a cluster in {config.region!r} (two stacks in one "
            "cluster would write the same Kubernetes object names)"
        ))


def _check_certificate_region(config: StackConfig, where: StackFile) -> None:
    """An NLB listener takes an ACM certificate of its own region only."""
    key = f"{PROJECT}:tlsCertificateArn"
    arn = config.tls_certificate_arn
    region = arn.split(":")[3] if arn is not None else config.region
    if region != config.region:
        raise _value_error(where, key, (
            f"{key}: the certificate is in {region!r}, but the stack's {REGION_KEY} is {config.region!r}; "
            f"expected an ACM certificate of {config.region!r} (a load balancer uses its own region's)"
        ))


def _unknown_file(stack: str) -> StackFile:
    return StackFile(Path(f"Pulumi.{stack}.yaml"), {}, frozenset())


def _error(where: StackFile, key: str, message: str) -> StackConfigError:
    return _positioned(where.position(key), message)


def _value_error(where: StackFile, key: str, message: str) -> StackConfigError:
    """An error at a key's value: the value is what is wrong, not the key."""
    return _positioned(where.value_position(key), message)


def _positioned(position: tuple[str, int, int], message: str) -> StackConfigError:
    file, line, column = position
    return StackConfigError(message, file=file, line=line, column=column, source_line=source_line(file, line))
