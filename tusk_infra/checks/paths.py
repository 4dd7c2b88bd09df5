"""File names as reports show them: relative to the project when they are inside it."""

from __future__ import annotations

from pathlib import Path


def display_path(file: str, project_dir: Path) -> str:
    """`file` relative to the project directory, with forward slashes; unchanged when it lies elsewhere."""
    path = Path(file)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
