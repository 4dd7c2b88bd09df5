"""The `tusk-infra` command: parses the command line and hands off to one module per subcommand."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from importlib import metadata

from tusk_infra.commands import OutputError

# Each module in tusk_infra.commands exposes `register(subparsers)`, which adds its parser and sets
# `handler(args) -> int` as the default. Imported lazily so `tusk-infra eval` never pays for pulumi.
COMMANDS: dict[str, str] = {
    "eval": "eval",
    "explain": "explain",
    "preview": "preview",
    "diff": "diff",
    "check": "check",
    "region": "region",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tusk-infra",
        description="Evaluate global.tsk, preview and check every region stack, offline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS.values():
        importlib.import_module(f"tusk_infra.commands.{module_name}").register(subparsers)
    for command_parser in subparsers.choices.values():
        command_parser.set_defaults(command_parser=command_parser)
    return parser


def _version() -> str:
    """The installed distribution's version; from a source checkout that was never installed (`python -m
    tusk_infra` there), the version pyproject.toml declares."""
    try:
        return metadata.version("tusk-infra")
    except metadata.PackageNotFoundError:
        import re
        from pathlib import Path

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            found = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"), re.M)
        except OSError:
            found = None
        return f"{found.group(1)} (source checkout, not installed)" if found else "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code (2 for usage errors)."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # Said by the subcommand's parser, so the usage shown is the one with the options that exist.
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return _run(args)


def console() -> int:
    """The process entry point (console script, `python -m tusk_infra`): main(), then the process's
    event loop closed before the interpreter shuts down. (main() alone leaves the loop to in-process
    callers, such as tests, that go on using Pulumi's runtime.)"""
    try:
        return main()
    finally:
        _close_event_loop()


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OutputError as error:
        print(f"tusk-infra {args.command}: {error}", file=sys.stderr)
        _discard_stdout()
        return 1
    except BrokenPipeError:
        # The reader went away (`| head`): nothing is left to say.
        _discard_stdout()
        return 1


def _close_event_loop() -> None:
    """Close the event loop Pulumi's runtime made for this thread, if any.

    pulumi.runtime.sync_await creates the main thread's loop and never closes it. Left to the interpreter's
    shutdown, the loop's own sockets may be finalized first, and its __del__ then prints an 'Exception
    ignored' traceback on stderr (seen in about 1 run in 16 of a failing preview)."""
    if "asyncio" not in sys.modules:  # `eval` never imports it: nothing to close
        return
    import asyncio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # get_event_loop() without a running loop
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:  # none was ever set for this thread
            return
    if not loop.is_running() and not loop.is_closed():
        loop.close()
    asyncio.set_event_loop(None)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the unwritten rest does not fail again in the exit-time flush."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    raise SystemExit(console())
