"""TuskLang for tusk-infra: parse (lark LALR) and evaluate .tsk files into plain data with provenance.

The names below are imported on first use (PEP 562), so importing one submodule (`tusk_infra.tusk.errors`)
does not load the parser, and `from tusk_infra.tusk import TuskError` loads only what TuskError needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tusk_infra.tusk.api import evaluate_file, evaluate_text
    from tusk_infra.tusk.builtin_providers import MemoryCache, StaticMetrics
    from tusk_infra.tusk.document import Document, PathNotFound
    from tusk_infra.tusk.errors import MissingEnvironment, TuskError
    from tusk_infra.tusk.providers import (
        CacheHit,
        CacheProvider,
        MetricsProvider,
        Providers,
        QueryAdapter,
        QueryResult,
        SecretSource,
        register_adapter,
    )
    from tusk_infra.tusk.sql import SqlRejected, ensure_single_select
    from tusk_infra.tusk.values import SECRET_MASK, InputUse, Provenance, Secret

# Each public name -> the submodule that defines it.
_HOMES: dict[str, str] = {
    "evaluate_file": "api",
    "evaluate_text": "api",
    "MemoryCache": "builtin_providers",
    "StaticMetrics": "builtin_providers",
    "Document": "document",
    "PathNotFound": "document",
    "MissingEnvironment": "errors",
    "TuskError": "errors",
    "CacheHit": "providers",
    "CacheProvider": "providers",
    "MetricsProvider": "providers",
    "Providers": "providers",
    "QueryAdapter": "providers",
    "QueryResult": "providers",
    "SecretSource": "providers",
    "register_adapter": "providers",
    "SqlRejected": "sql",
    "ensure_single_select": "sql",
    "SECRET_MASK": "values",
    "InputUse": "values",
    "Provenance": "values",
    "Secret": "values",
}

__all__ = [
    "SECRET_MASK",
    "CacheHit",
    "CacheProvider",
    "Document",
    "InputUse",
    "MemoryCache",
    "MetricsProvider",
    "MissingEnvironment",
    "PathNotFound",
    "Provenance",
    "Providers",
    "QueryAdapter",
    "QueryResult",
    "Secret",
    "SecretSource",
    "StaticMetrics",
    "SqlRejected",
    "TuskError",
    "ensure_single_select",
    "evaluate_file",
    "evaluate_text",
    "register_adapter",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
