"""The live backends' names and defaults, apart from the backends themselves.

Reading settings (stack config, command-line options) needs only these; the backends' modules bring sockets,
logging, statistics and AWS client code with them. Kept here, `tusk-infra eval FILE` and every command line
that names a backend option import none of that until a backend is actually used (backends.selection).
"""

from __future__ import annotations

from pathlib import Path

# Where `@env.secure(NAME)` looks in AWS: this prefix + NAME ({stack} filled in).
DEFAULT_SECRET_PREFIX = "/tusk-infra/{stack}/"
# The AWS services secrets can come from, in the order the options name them (aws_secrets.SOURCE_KINDS).
SECRET_SOURCE_KINDS = ("secretsmanager", "ssm")
# The persistent @cache's directory, relative to where the command runs (file_cache).
DEFAULT_CACHE_DIR = ".tusk-cache"
# A metric snapshot older than this is stale (snapshot): two weeks.
DEFAULT_MAX_AGE_SECONDS = 14 * 86400
# Each stack's metric snapshot: <project>/metrics/<stack>.json.
SNAPSHOT_DIR = "metrics"
# The URL schemes @query opens with the PostgreSQL adapter (postgres).
POSTGRES_SCHEMES = ("postgresql", "postgres")


def snapshot_path(project_dir: Path, stack: str) -> Path:
    """Where a stack's snapshot lives: `<project>/metrics/<stack>.json`."""
    return project_dir / SNAPSHOT_DIR / f"{stack}.json"
