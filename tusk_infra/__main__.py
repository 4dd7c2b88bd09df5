"""`python -m tusk_infra` is the `tusk-infra` command."""

from tusk_infra.cli import console

console()
