"""The Pulumi program: `pulumi up` on a region stack runs this (see tusk_infra/stack.py)."""

from pathlib import Path

from tusk_infra.stack import main

main(Path(__file__).resolve().parent)
