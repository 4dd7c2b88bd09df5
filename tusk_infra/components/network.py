"""What the data stores share: a security group that admits only the app, on one port."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws.ec2 as ec2


@dataclass(frozen=True)
class AppOnlyAccess:
    """Who may connect: the app's security group, inside this VPC, on this TCP port."""

    vpc_id: str
    app_security_group_id: str
    port: int
    subnet_ids: Sequence[str]


def app_only_security_group(
    name: str, access: AppOnlyAccess, purpose: str, parent: pulumi.Resource
) -> ec2.SecurityGroup:
    """A security group with one ingress rule (from the app's group) and no egress."""
    return ec2.SecurityGroup(
        f"{name}-sg",
        description=f"{purpose}: only the app may connect",
        vpc_id=access.vpc_id,
        ingress=[
            {
                "protocol": "tcp",
                "from_port": access.port,
                "to_port": access.port,
                "security_groups": [access.app_security_group_id],
                "description": f"{purpose} from the app",
            }
        ],
        # No egress at all: the provider removes the allow-all rule AWS adds, and an explicit empty list
        # also removes any rule added by hand later.
        egress=[],
        opts=pulumi.ResourceOptions(parent=parent),
    )
