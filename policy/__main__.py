"""The CrossGuard policy pack: `pulumi preview --policy-pack policy`.

It only assembles the pack; every rule is a pure function in tusk_policy, shared with `tusk-infra check`.
"""

from pulumi_policy import PolicyPack
from tusk_policy import PACK_NAME, POLICIES
from tusk_policy.crossguard import crossguard_policies


def main() -> None:
    """Build the pack, which starts the analyzer's gRPC server and serves the Pulumi engine until it exits."""
    PolicyPack(PACK_NAME, policies=crossguard_policies(POLICIES))


# The Pulumi CLI runs this file as a script; importing it (tests, tooling) must not start a server.
if __name__ == "__main__":
    main()
