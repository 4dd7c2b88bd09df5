"""Alarm thresholds (global.tsk's monitoring.alarms) and receivers (tusk-infra:alarmSubscriptions): typed,
defaulted to the seed's numbers, and every mistake reported at its file:line:col."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROGRAM_SECRETS, PROJECT_DIR, REPO

from tusk_infra.rds_instance_classes import GIB, memory_bytes
from tusk_infra.settings import (
    SettingsError,
    free_storage_threshold,
    freeable_memory_threshold,
    settings_from_document,
)
from tusk_infra.stack_config import (
    AlarmSubscription,
    StackConfigError,
    config_strings,
    load_stack_file,
    parse_stack_config,
)
from tusk_infra.tusk import Providers, evaluate_text


def evaluated(text: str, region: str = "us-east-1"):  # type: ignore[no-untyped-def]
    env = {"REGION": region, "ZONE": f"{region}a", **PROGRAM_SECRETS}
    return evaluate_text(text, filename="global.tsk", providers=Providers(env=env))


def global_tsk() -> str:
    return (PROJECT_DIR / "global.tsk").read_text(encoding="utf-8")


def edited(old: str, new: str) -> tuple[str, int]:
    """global.tsk with the one line that is `old` (stripped) replaced by `new`; the line's number."""
    lines = global_tsk().splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.strip() == old]
    lines[index] = new
    return "\n".join(lines) + "\n", index + 1


def test_the_shipped_thresholds_are_the_seeds() -> None:
    for region in ("us-east-1", "us-west-2"):
        settings = settings_from_document(evaluated(global_tsk(), region), stack_region=region)
        alarms = settings.monitoring.alarms
        assert (alarms.cache.cpu_percent, alarms.cache.memory_percent) == (80, 85)
        assert alarms.database.cpu_percent == 80 and alarms.health_check.time_to_first_byte_ms == 1000
        assert settings.monitoring.metrics_endpoint.startswith("https://metrics-")  # the existing keys stay


def test_without_an_alarms_block_the_defaults_are_the_seeds() -> None:
    text = global_tsk()
    start = text.index("\nalarms {")
    end = text.index("\n}\n", start) + 3
    settings = settings_from_document(evaluated(text[:start] + "\n" + text[end:]))
    alarms = settings.monitoring.alarms
    assert (alarms.cache.cpu_percent, alarms.cache.memory_percent, alarms.database.cpu_percent) == (
        80,
        85,
        80,
    )
    assert alarms.health_check.time_to_first_byte_ms == 1000
    assert (alarms.period_seconds, alarms.evaluation_periods, alarms.datapoints_to_alarm) == (60, 5, 3)
    # Memory in use above 85 % is FreeableMemory below 15 % of db.r6g.4xlarge's 128 GiB.
    assert freeable_memory_threshold(alarms.database, "db.r6g.4xlarge") == 128 * GIB * 15 // 100
    assert free_storage_threshold(alarms.database, settings.database) == 1000 * GIB // 100


def test_memory_table() -> None:
    assert memory_bytes("db.r6g.2xlarge") == 64 * GIB
    assert memory_bytes("db.r7g.large") == 16 * GIB
    assert memory_bytes("db.m6g.xlarge") == 16 * GIB
    assert memory_bytes("db.t4g.micro") == 1 * GIB
    assert memory_bytes("db.x2g.large") is None and memory_bytes("cache.r6g.large") is None


DATAPOINTS_LINE = "datapoints_to_alarm: 3            # 3 of the last 5 minutes past the threshold"
MEMORY_LINE = (
    "freeable_memory_percent: 15   # FreeableMemory below 15 % of the instance class's memory (85 % in use)"
)
# (name, the line to change (stripped), its replacement, column, the message's fragments)
BAD_THRESHOLDS = [
    ("cpu-above-100", "cpu_percent: 80               # EngineCPUUtilization (the seed: CPU > 80 %)",
     "        cpu_percent: 120", 22,
     ["monitoring.alarms.cache.cpu_percent: found the integer 120; expected a value of at most 100"]),
    ("datapoints-above-periods", DATAPOINTS_LINE,
     "    datapoints_to_alarm: 6", 26,
     ["datapoints_to_alarm (6) is above evaluation_periods (5)"]),
    ("period-not-whole-minutes", "period_seconds: 60", "    period_seconds: 90", 21,
     ["monitoring.alarms.period_seconds: found the integer 90; expected a multiple of 60"]),
    ("longer-than-a-day", "evaluation_periods: 5", "    evaluation_periods: 1441", 25,
     ["evaluation_periods (1441) x period_seconds (60) is 86460 s; CloudWatch expects at most 86400 s"]),
    ("free-storage-above-the-autoscaling-trigger",
     "free_storage_percent: 1       # FreeStorageSpace below 1 % of max_allocated_storage_gb",
     "        free_storage_percent: 5", 31,
     ["free_storage_percent (5) of max_allocated_storage_gb (1000) is 50 GB free, not below the 20 GB at "
      "which storage autoscaling grows the 200 GB disk"]),
    ("threshold-a-string", "evictions: 1000               # keys evicted per period",
     '        evictions: "many"', 20,
     ['monitoring.alarms.cache.evictions: found the string "many"; expected an integer']),
    ("misspelt-threshold", "replica_lag_seconds: 60       # ReplicaLag, replicas only",
     "        replica_lag_secs: 60", 9,
     ["unknown key 'replica_lag_secs' (did you mean 'replica_lag_seconds'?)"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "column", "fragments"),
    [case[1:] for case in BAD_THRESHOLDS],
    ids=[c[0] for c in BAD_THRESHOLDS],
)
def test_a_bad_threshold_is_reported_at_its_line(
    old: str, new: str, column: int, fragments: list[str]
) -> None:
    text, line = edited(old, new)
    with pytest.raises(SettingsError) as caught:
        settings_from_document(evaluated(text))
    error = caught.value
    assert (error.file, error.line, error.column) == ("global.tsk", line, column), error.render()
    for fragment in fragments:
        assert fragment in error.message, error.message
    assert new.strip() in error.render() and "^" in error.render()


def test_both_memory_thresholds_are_refused_at_the_second() -> None:
    text, line = edited(
        MEMORY_LINE, "        freeable_memory_percent: 15\n        freeable_memory_bytes: 2147483648"
    )
    with pytest.raises(SettingsError) as caught:
        settings_from_document(evaluated(text))
    assert (caught.value.line, caught.value.column) == (line + 1, 32)
    assert (
        caught.value.message
        == "found both freeable_memory_bytes and freeable_memory_percent; expected one of them"
    )


def test_a_class_missing_from_the_memory_table_needs_bytes() -> None:
    text = global_tsk().replace('db_instance_class: "db.r6g.4xlarge"', 'db_instance_class: "db.x2g.large"')
    with pytest.raises(SettingsError) as caught:
        settings_from_document(evaluated(text))
    line = global_tsk().splitlines()[caught.value.line - 1]
    assert line.strip().startswith("freeable_memory_percent: 15")
    assert "instance class 'db.x2g.large' is not in tusk-infra's table" in caught.value.message
    assert "expected monitoring.alarms.database.freeable_memory_bytes" in caught.value.message
    with_bytes = text.replace(MEMORY_LINE, "freeable_memory_bytes: 4294967296")
    alarms = settings_from_document(evaluated(with_bytes)).monitoring.alarms.database
    assert freeable_memory_threshold(alarms, "db.x2g.large") == 4 * GIB


PATH_EXPLAINED = "monitoring.alarms.cache.memory_percent"


def test_explain_traces_a_threshold_to_its_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tusk_infra", "explain", "global.tsk", PATH_EXPLAINED],
        cwd=REPO, env={"PATH": os.environ.get("PATH", ""), **PROGRAM_SECRETS},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    number = next(
        n
        for n, line in enumerate(global_tsk().splitlines(), 1)
        if line.strip().startswith("memory_percent: 85")
    )
    assert result.stdout.splitlines()[:2] == [
        "monitoring.alarms.cache.memory_percent = 85",
        f"  defined at global.tsk:{number}:25",
    ]


# Alarm subscriptions: Pulumi.<stack>.yaml


def test_the_shipped_stacks_subscribe_an_email_and_an_https_endpoint() -> None:
    for stack in ("us-east-1", "us-west-2", "eu-west-1"):
        stack_file = load_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml")
        config = parse_stack_config(stack, config_strings(stack_file), stack_file)
        assert [s.protocol for s in config.alarm_subscriptions] == ["email", "https"]
        assert config.alarm_subscriptions[0] == AlarmSubscription("email", "oncall@example.com")
        assert "endpoint" not in repr(config.alarm_subscriptions[1])  # an https endpoint may carry a key


def west_stack(tmp_path: Path, subscriptions: str | None) -> Path:
    """The project's Pulumi.us-west-2.yaml with its subscriptions replaced (None: removed)."""
    text = (PROJECT_DIR / "Pulumi.us-west-2.yaml").read_text(encoding="utf-8")
    start = text.index("  tusk-infra:alarmSubscriptions:")
    path = tmp_path / "Pulumi.us-west-2.yaml"
    path.write_text(text[:start] + (subscriptions or ""), encoding="utf-8")
    return path


def parsed(path: Path):  # type: ignore[no-untyped-def]
    stack_file = load_stack_file(path)
    return parse_stack_config("us-west-2", config_strings(stack_file), stack_file)


def test_no_subscriptions_is_allowed(tmp_path: Path) -> None:
    assert parsed(west_stack(tmp_path, None)).alarm_subscriptions == ()


def position_of(path: Path, text: str) -> tuple[int, int]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number, line.index(text) + 1
    raise AssertionError(f"{text!r} not in {path}")


KEY = "  tusk-infra:alarmSubscriptions:\n"
BAD_SUBSCRIPTIONS = [
    ("sms-protocol", KEY + "    - protocol: sms\n      endpoint: '+15550100'\n", "sms",
     "tusk-infra:alarmSubscriptions[0].protocol: found 'sms'; expected email or https"),
    ("not-an-email", KEY + "    - protocol: email\n      endpoint: oncall-at-example\n", "oncall-at-example",
     "tusk-infra:alarmSubscriptions[0].endpoint: found a str that is not one; expected an e-mail address "
     "like ops@example.com for protocol email"),
    ("plain-http", KEY + "    - protocol: email\n      endpoint: a@b.io\n    - protocol: https\n"
     "      endpoint: http://hooks.example.com/secret-key\n", "http://hooks",
     "tusk-infra:alarmSubscriptions[1].endpoint: found a str that is not one; expected an https:// URL "
     "for protocol https"),
    ("misspelt-field", KEY + "    - protocol: email\n      endpont: a@b.io\n", "endpont",
     "tusk-infra:alarmSubscriptions[0]: unknown field 'endpont'; expected protocol and endpoint"),
    ("missing-endpoint", KEY + "    - protocol: https\n", "protocol: https",
     "tusk-infra:alarmSubscriptions[0].endpoint: found nothing; expected an https:// URL for protocol https"),
    ("not-a-list", KEY.rstrip("\n") + " oncall@example.com\n", "oncall@example.com",
     "tusk-infra:alarmSubscriptions: expected a list of {protocol, endpoint} entries"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("written", "at", "message"), [c[1:] for c in BAD_SUBSCRIPTIONS], ids=[c[0] for c in BAD_SUBSCRIPTIONS]
)
def test_a_bad_subscription_is_reported_where_it_is_written(
    tmp_path: Path, written: str, at: str, message: str
) -> None:
    path = west_stack(tmp_path, written)
    with pytest.raises(StackConfigError) as caught:
        parsed(path)
    error = caught.value
    assert (error.file, error.line, error.column) == (str(path), *position_of(path, at))
    assert error.message == message
    assert "secret-key" not in error.render()  # an endpoint is never shown, in the message or its snippet
