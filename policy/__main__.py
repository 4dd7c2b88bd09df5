"""The CrossGuard policy pack: `pulumi preview --policy-pack policy`.

It only assembles the pack; every rule is a pure function in tusk_policy, shared with `tusk-infra check`.
The Pulumi CLI runs this directory with `runpy.run_path(..., run_name="__main__")`, so the guard below holds
there and nowhere else.
"""

from pathlib import Path

from pulumi_policy import PolicyPack
from tusk_policy import PACK_NAME, POLICIES
from tusk_policy.crossguard import crossguard_policies

README = Path(__file__).with_name("README.md")


def main() -> None:
    """Build the pack, which starts the analyzer's gRPC server and serves the Pulumi engine until it exits."""
    PolicyPack(
        PACK_NAME,
        policies=crossguard_policies(POLICIES),
        display_name="tusk-infra scaling limits and guardrails",
        readme=README.read_text(encoding="utf-8") if README.is_file() else None,
        provider="aws",
        tags=["scaling", "kubernetes", "aws"],
    )


# Importing this module (tests, tooling) must not start a server.
if __name__ == "__main__":
    main()
