"""The entry points: evaluate a .tsk file or text into a Document."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tusk_infra.tusk.document import Document
from tusk_infra.tusk.errors import SourceText, TuskError
from tusk_infra.tusk.evaluator import Evaluator, unique_inputs
from tusk_infra.tusk.input_files import read_input_bytes
from tusk_infra.tusk.loader import load
from tusk_infra.tusk.operators import Resources
from tusk_infra.tusk.providers import Providers
from tusk_infra.tusk.secret_names import check_secret_names
from tusk_infra.tusk.value_limits import oversized_path


def evaluate_text(
    text: str,
    *,
    filename: str = "<string>",
    variables: Mapping[str, Any] | None = None,
    providers: Providers | None = None,
) -> Document:
    """Parse and evaluate TuskLang text; every problem is a TuskError naming filename:line:col."""
    with _collector_paused():
        source = SourceText(text, filename)
        layout = load(source)
        check_secret_names(layout)
        evaluator = Evaluator(layout, variables or {}, providers if providers is not None else Providers())
        try:
            data = evaluator.run()
        finally:
            if isinstance(evaluator.resources, Resources):
                evaluator.resources.database.close()
        document = Document(data, layout, unique_inputs(evaluator.all_inputs), tuple(evaluator.warnings))
        _refuse_oversized(document)
        return document


def _refuse_oversized(document: Document) -> None:
    """A document whose value, expanded, crosses a size or depth limit: an error at the key whose value does.

    At the key, not the expression: finding an expression's position re-reads its line, which for an
    oversized literal is itself the problem."""
    found = oversized_path(document.data)
    if found is None:
        return
    path, problem = found
    dotted = ".".join(str(part) for part in path)
    if len(path) > 6:
        dotted = f"{'.'.join(str(part) for part in path[:3])}...{path[-1]} ({len(path)} levels)"
    message = f"{dotted}: {problem}" if dotted else problem
    where = next(
        (location for end in range(len(path), 0, -1) if (location := document.key_location(path[:end]))),
        (document.file, 1, 1),
    )
    file, line, column = where
    raise TuskError(message, file, line, column, source_line=document.line_text(line))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is parsed and evaluated.

    Parsing allocates one small object per token and node; the collector would keep re-scanning that
    growing, cycle-free tree (a third of the time on a 1 MB file, and growth worse than linear). It is
    switched back on as it was, even on error.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def evaluate_file(
    path: str | Path,
    *,
    variables: Mapping[str, Any] | None = None,
    providers: Providers | None = None,
) -> Document:
    """Evaluate a .tsk file; errors name the path as given."""
    name = str(path)
    raw = read_input_bytes(Path(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as failure:
        line = raw.count(b"\n", 0, failure.start) + 1
        column = failure.start - (raw.rfind(b"\n", 0, failure.start) + 1) + 1
        raise TuskError("the file is not valid UTF-8", name, line, column) from None
    return evaluate_text(text.removeprefix("\ufeff"), filename=name, variables=variables, providers=providers)
