"""`tusk-infra eval FILE`: print the evaluated document as JSON or YAML."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from tusk_infra.backends.config import BackendOptionError
from tusk_infra.backends.selection import add_backend_arguments, build_providers, settings_from_args
from tusk_infra.commands import write_output_chunks
from tusk_infra.commands.stack_option import ChosenStack, choose_stack
from tusk_infra.project import ProjectError
from tusk_infra.stack_inputs import OfflineSecrets
from tusk_infra.tusk import MissingEnvironment, Providers, StaticMetrics, TuskError, evaluate_file
from tusk_infra.tusk.document import Document


def register(subparsers: Any) -> None:
    """Add the `eval` subcommand."""
    parser = subparsers.add_parser("eval", help="evaluate a .tsk file and print the document")
    parser.add_argument("file", metavar="FILE", help="the .tsk file to evaluate")
    add_input_arguments(parser)
    parser.add_argument(
        "--format", choices=("json", "yaml"), default="json", help="output format (default json)"
    )
    parser.add_argument("--show-secrets", action="store_true", help="print secret values instead of [secret]")
    parser.set_defaults(handler=run)


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The inputs an evaluation may take from the command line, live backends too (shared with `explain`)."""
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set an environment variable for @env (overrides the process environment and --stack's inputs)",
    )
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="supply a global the file does not declare",
    )
    parser.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for @metrics(NAME, default)",
    )
    parser.add_argument(
        "--db", metavar="URL", help="database for @query, e.g. sqlite:///app.db or postgresql://user@host/db"
    )
    parser.add_argument(
        "--stack",
        metavar="NAME",
        help="evaluate as the program does for this stack, e.g. us-west-2: reads Pulumi.NAME.yaml beside "
        "FILE and passes its REGION, ZONE and INSTANCE_ID (over the process environment; --env still "
        "overrides), its plain-text tusk-infra:NAME secrets and its live-backend settings (the options "
        "below override them); also fills {stack} in the AWS secret prefix and CloudWatch dimensions. "
        "Secrets nobody provides become placeholders, as in preview, with a notice",
    )
    parser.add_argument(
        "--strict-secrets",
        action="store_true",
        help="with --stack: fail instead of using placeholders for secrets not available offline",
    )
    parser.add_argument(
        "--live-metrics", dest="backend_live_metrics", action="store_const", const=True,
        help="with --stack: read @metrics from the stack's provider now instead of its snapshot "
        "metrics/<stack>.json (the result then depends on the moment it runs)",
    )
    add_backend_arguments(parser)


def evaluate_from_args(args: argparse.Namespace) -> Document:
    """Evaluate args.file with the inputs given on the command line; usage errors exit 2."""
    return evaluate_with_providers(args)[0]


def evaluate_with_providers(args: argparse.Namespace) -> tuple[Document, Providers]:
    """Evaluate args.file with the inputs given on the command line, and the providers it read them from.

    Offline unless a backend option (or TUSK_DATABASE_URL, or the --stack's file) asks for more. A backend
    option whose value cannot be used, or an unknown stack, is a usage error, found before the file is
    evaluated.
    """
    explicit_env = _pairs(args.env, "--env")
    metrics = {name: _number(value, name) for name, value in _pairs(args.metric, "--metric").items()}
    variables = _pairs(args.var, "--var")
    stack = _chosen_stack(args)
    warn = _warn_on_stderr
    offline = Providers(
        env={**(stack.env(os.environ) if stack else os.environ), **explicit_env},
        secrets=[stack.secrets(warn)] if stack else [],
        metrics=StaticMetrics(metrics) if metrics else None,
        database_url=args.db,
        warn=warn,
    )
    settings = settings_from_args(args, base=stack.backends() if stack else None)
    if settings.secret_sources and "{stack}" in settings.secret_prefix and not settings.stack:
        _usage_error(
            f"--secrets-from needs a stack name for the secret prefix {settings.secret_prefix!r}: "
            "pass --stack NAME, or --secret-prefix without {stack}"
        )
    try:
        providers = build_providers(settings, offline)
    except BackendOptionError as bad_option:
        _usage_error(bad_option.message)
    # As the program offline (preview): with --stack, a secret nobody provides is a placeholder, said once.
    placeholders = OfflineSecrets(stack.stack_file) if stack and not args.strict_secrets else None
    if placeholders is not None:
        providers.secrets = (*providers.secrets, placeholders)
    try:
        document = evaluate_file(args.file, variables=variables, providers=providers)
    except MissingEnvironment as missing:
        raise missing.with_hint(_how_to_set(missing.names, missing.secret_names, stack)) from None
    for notice in placeholders.notices() if placeholders is not None else []:
        print(f"notice: {notice} (--strict-secrets to refuse)", file=sys.stderr)
    return document, providers


def _chosen_stack(args: argparse.Namespace) -> ChosenStack | None:
    """The --stack's config (None without --stack); an unknown one is a usage error naming the stacks."""
    if args.stack is None:
        return None
    try:
        return choose_stack(args.file, args.stack)
    except ProjectError as error:
        _usage_error(f"--stack {args.stack}: {error}")


def _how_to_set(names: Sequence[str], secrets: Sequence[str], stack: ChosenStack | None) -> str:
    plain = [name for name in names if name not in secrets]
    hints = []
    if secrets:
        # A value on the command line lands in shell history and in `ps` for everyone on the machine, so a
        # secret is never suggested for --env.
        plural = "s" if len(secrets) > 1 else ""
        which = "it" if len(names) == 1 else f"the secret{plural} {', '.join(secrets)}"
        hints.append(f"export {which} in the environment (from your secret store; not --env, which shell "
                     "history and `ps` keep)")
    if plain:
        what = "the others" if secrets else "it" if len(plain) == 1 else "them"
        hints.append(f"set {what} in the environment or with --env NAME=VALUE")
    encrypted = stack.encrypted(names) if stack else []
    if stack and encrypted:
        # Said, so nobody wonders why a secret the stack file holds was not used.
        verb = "is" if len(encrypted) == 1 else "are"
        hints.append(f"{', '.join(encrypted)} {verb} encrypted in {stack.stack_file.path.name}: only the "
                     "Pulumi CLI decrypts")
    return "; ".join(hints)


def _warn_on_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Print the document; on a TuskError print it on stderr and return 1, with nothing on stdout."""
    try:
        document = evaluate_from_args(args)
    except TuskError as error:
        print(error.render(), file=sys.stderr)
        return 1
    # Evaluation refused NaN and infinities already (value_limits): the encoders below can never meet one.
    plain = document.to_plain(show_secrets=args.show_secrets)
    write_output_chunks(document_chunks(plain, args.format))
    return 0


def document_chunks(plain: Any, output_format: str) -> Iterator[str]:
    """The rendered document in pieces, ending with a newline (what render_document gives, streamed)."""
    if output_format == "yaml":
        yield render_document(plain, output_format)
    else:
        encoder = json.JSONEncoder(indent=2, ensure_ascii=False, allow_nan=False)
        yield from encoder.iterencode(plain)
    yield "\n"


def render_document(plain: Any, output_format: str) -> str:
    """JSON (document order, deterministic) or YAML text of plain data."""
    if output_format == "yaml":
        import yaml

        text: str = yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, default_flow_style=False)
        return text.rstrip("\n")
    return json.dumps(plain, indent=2, ensure_ascii=False, allow_nan=False)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        name, separator, value = item.partition("=")
        if not separator or not name:
            _usage_error(f"{option} expects NAME=VALUE, found {item!r}")
        pairs[name] = value
    return pairs


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        _usage_error(f"--metric {name} expects a number, e.g. {name}=42.5, found {text!r}")
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _usage_error(message: str) -> NoReturn:
    print(f"tusk-infra: error: {message}", file=sys.stderr)
    raise SystemExit(2)
