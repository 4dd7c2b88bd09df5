"""The `tusk-infra` command: parses the command line and hands off to one module per subcommand."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from tusk_infra import __version__
from tusk_infra.commands import OutputError

# Each module in tusk_infra.commands exposes `register(subparsers)`, which adds its parser and sets
# `handler(args) -> int` as the default. Imported lazily so `tusk-infra eval` never pays for pulumi.
COMMANDS: dict[str, str] = {
    "eval": "eval",
    "explain": "explain",
    "preview": "preview",
    "diff": "diff",
    "check": "check",
    "metrics": "metrics",
    "region": "region",
}
VERSION = f"tusk-infra {__version__}"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every subcommand's, or with `only` just that one's (its module alone is
    imported; the others are neither imported nor offered)."""
    parser = argparse.ArgumentParser(
        prog="tusk-infra",
        description="Evaluate global.tsk, preview and check every region stack, offline.",
    )
    parser.add_argument("--version", action="version", version=VERSION)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"tusk_infra.commands.{module_name}").register(subparsers)
    for command_parser in subparsers.choices.values():
        command_parser.set_defaults(command_parser=command_parser)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names, if its first argument is one (the top level takes no option before it
    other than -h/--version, which make the full parser answer)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code (2 for usage errors)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments == ["--version"]:
        # Answered before any command module (or the libraries they use) is imported.
        print(VERSION)
        return 0
    parser = build_parser(chosen_command(arguments))
    args, unknown = parser.parse_known_args(arguments)
    if unknown:
        # Said by the subcommand's parser, so the usage shown is the one with the options that exist.
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return _run(args)


def console() -> NoReturn:
    """The process entry point (console script, `python -m tusk_infra`).

    A short-lived process: the cyclic garbage collector is off for the run (the process ends long before
    the garbage would matter) and, once main() has returned — its own cleanups, such as diff's temporary
    worktrees, done in its `finally` blocks — stdout and stderr are flushed and the process ends without the
    interpreter's teardown (freeing every module and object it would never use again). The event loop
    Pulumi's runtime made is closed first all the same. (main() alone leaves GC, the loop and teardown to
    in-process callers, such as tests, that go on using Pulumi's runtime.)"""
    gc.disable()
    try:
        code = main()
    except SystemExit as leaving:  # argparse's --help and usage errors
        code = _exit_code(leaving.code)
    finally:
        _close_event_loop()
    _exit_now(code)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # SystemExit("message"), as the interpreter would print it
    return 1


def _exit_now(code: int) -> NoReturn:
    """Flush what is buffered, then end the process with `code`, skipping the interpreter's teardown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, a full disk, a closed stream: nothing more to say
            if stream is sys.stdout and code == 0:
                code = 1  # the output did not all arrive
    os._exit(code)


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
    console()
