"""`tusk-infra explain FILE PATH`: a value, the expression that produced it, and the inputs it used."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tusk_infra.backends.snapshot import describe_source
from tusk_infra.commands import write_output
from tusk_infra.commands.eval import add_input_arguments, evaluate_with_providers
from tusk_infra.tusk import SECRET_MASK, Provenance, Secret, TuskError


def register(subparsers: Any) -> None:
    """Add the `explain` subcommand."""
    parser = subparsers.add_parser("explain", help="show where a value of a .tsk file comes from")
    parser.add_argument("file", metavar="FILE", help="the .tsk file to evaluate")
    parser.add_argument(
        "path",
        metavar="DOTTED.PATH",
        type=_dotted_path,
        help="the value to explain, e.g. performance.worker_count",
    )
    add_input_arguments(parser)
    parser.add_argument("--show-secrets", action="store_true", help="print secret values instead of [secret]")
    parser.set_defaults(handler=run)


def _dotted_path(text: str) -> str:
    """A path of keys (and list indexes) joined by dots; an empty part is a usage error."""
    if not text or "" in text.split("."):
        raise argparse.ArgumentTypeError(
            f"expected keys joined by dots, like performance.worker_count, found {text!r}"
        )
    return text


def run(args: argparse.Namespace) -> int:
    """Print the explanation; a TuskError goes to stderr with exit code 1."""
    try:
        document, providers = evaluate_with_providers(args)
        value = document.get(args.path)
        provenance = document.provenance(args.path)
    except TuskError as error:
        print(error.render(), file=sys.stderr)
        return 1
    sources = {use.name: describe_source(providers.metrics, use.name)
               for use in provenance.inputs if use.kind == "metric" and not use.defaulted}
    write_output(explanation(args.path, value, provenance, args.show_secrets, metric_sources=sources) + "\n")
    return 0


def explanation(
    path: str,
    value: Any,
    provenance: Provenance,
    show_secrets: bool = False,
    *,
    metric_sources: dict[str, str | None] | None = None,
) -> str:
    """The text `explain` prints; `metric_sources`: where each metric's value came from (a snapshot...)."""
    lines = [
        f"{path} = {_shown(value, show_secrets)}",
        f"  defined at {provenance.location}",
        f"  expression: {provenance.source}",
    ]
    if provenance.inputs:
        lines.append("  inputs:")
        for use in provenance.inputs:
            default = " (not set; default used)" if use.defaulted else ""
            origin = (metric_sources or {}).get(use.name) if use.kind == "metric" else None
            shown = f"{_shown(use.value, show_secrets)}{default}" + (f" ({origin})" if origin else "")
            lines.append(f"    {use.kind} {use.name} = {shown}")
    else:
        lines.append("  inputs: none (a constant)")
    return "\n".join(lines)


def _shown(value: Any, show_secrets: bool) -> str:
    return json.dumps(_unwrap(value, show_secrets), ensure_ascii=False)


def _unwrap(value: Any, show_secrets: bool) -> Any:
    if isinstance(value, Secret):
        return value.reveal() if show_secrets else SECRET_MASK
    if isinstance(value, dict):
        return {key: _unwrap(item, show_secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item, show_secrets) for item in value]
    return value
