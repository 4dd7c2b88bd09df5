"""TuskLang for tusk-infra: parse (lark LALR) and evaluate .tsk files into plain data with provenance."""

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
