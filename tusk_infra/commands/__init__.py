"""One module per `tusk-infra` subcommand."""
