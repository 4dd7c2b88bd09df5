"""Helpers for the data-driven .tsk tests: case discovery and the sidecar inputs of a case."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tusk_infra.tusk import Providers, StaticMetrics

TSK_DIR = Path(__file__).resolve().parent
VALID_DIR = TSK_DIR / "valid"
INVALID_DIR = TSK_DIR / "invalid"
SEED_DIR = TSK_DIR / "seed"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


def tsk_files(folder: Path) -> list[Path]:
    """The .tsk files of a folder, sorted (ids come from their names)."""
    return sorted(folder.glob("*.tsk"))


class DictSecrets:
    """A SecretSource backed by a dict (stands in for Pulumi config / Secrets Manager)."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def lookup(self, name: str) -> str | None:
        return self._values.get(name)


@dataclass
class CaseInputs:
    variables: dict[str, Any]
    providers: Providers
    show_secrets: bool


def case_inputs(spec: dict[str, Any], workdir: Path) -> CaseInputs:
    """Variables and providers for a case from its sidecar spec; never reads the process environment."""
    providers = Providers(env=dict(spec.get("env", {})))
    if "metrics" in spec:
        providers.metrics = StaticMetrics(spec["metrics"])
    if "secrets" in spec:
        providers.secrets = (DictSecrets(spec["secrets"]),)
    if "db" in spec:
        providers.database_url = build_database(TSK_DIR / spec["db"], workdir)
    if "db_url" in spec:
        providers.database_url = spec["db_url"]
    if "clock" in spec:
        moment = datetime.fromisoformat(spec["clock"])
        providers.clock = lambda: moment
    return CaseInputs(dict(spec.get("vars", {})), providers, bool(spec.get("show_secrets", False)))


def build_database(script: Path, workdir: Path) -> str:
    """A fresh SQLite file built from an SQL script; returns its sqlite:/// URL."""
    path = workdir / f"{script.stem}.db"
    if not path.exists():
        connection = sqlite3.connect(path)
        connection.executescript(script.read_text(encoding="utf-8"))
        connection.commit()
        connection.close()
    return f"sqlite:///{path}"


def read_json(path: Path) -> Any:
    """A JSON file's content, or {} when it does not exist."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
