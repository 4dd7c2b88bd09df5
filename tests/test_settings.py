"""Settings from global.tsk: typed per region, and bad values stop the program before any resource exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PROGRAM_SECRETS, PROJECT_DIR

from tusk_infra.offline import runner
from tusk_infra.offline.mocks import RecordingMonitor
from tusk_infra.settings import REGION_FROM_STACK, SettingsError, load_region_settings, settings_from_document
from tusk_infra.tusk import Providers, TuskError, evaluate_text


def region_settings(region: str, zone: str):  # type: ignore[no-untyped-def]
    env = {"REGION": region, "ZONE": zone, **PROGRAM_SECRETS}
    return load_region_settings(PROJECT_DIR / "global.tsk", providers=Providers(env=env))[0]


@pytest.mark.parametrize(
    ("region", "primary", "workers", "pool", "shards", "retention"),
    [
        # worker_count follows observed load (@metrics); with no snapshot here, every region gets the default.
        ("us-east-1", True, 8, 200, 3, 14),
        ("us-west-2", False, 8, 100, 2, 7),
        ("eu-west-1", False, 8, 100, 2, 7),
    ],
)
def test_regional_differences(
    region: str, primary: bool, workers: int, pool: int, shards: int, retention: int
) -> None:
    settings = region_settings(region, f"{region}b")
    assert (settings.region, settings.zone) == (region, f"{region}b")
    assert settings.is_database_primary is primary
    assert settings.performance.worker_count == workers
    assert settings.database.primary.pool.max_open_conns == pool
    assert settings.distributed_cache.redis_cluster.shards == shards
    assert settings.database.backup_retention_days == retention
    assert settings.regional_settings.cdn_url == f"https://cdn-{region}.example.com"
    assert settings.database.instance_class == settings.profile.db_instance_class


def test_global_tsk_evaluates_with_nothing_but_the_secrets() -> None:
    # The defaults make the file stand alone: region us-east-1, no other variable needed.
    providers = Providers(env=dict(PROGRAM_SECRETS))
    settings = load_region_settings(PROJECT_DIR / "global.tsk", providers=providers)[0]
    assert settings.region == "us-east-1" and settings.global_.deployment_id == "unknown"


class Capturing(RecordingMonitor):
    """Remembers every monitor the runner creates, so a test can prove nothing was registered."""

    made: list[RecordingMonitor] = []

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        Capturing.made.append(self)


def edit(project: Path, old: str, new: str) -> int:
    """Replace one line of the project's global.tsk; returns the 1-based number of the edited line."""
    path = project / "global.tsk"
    lines = path.read_text().splitlines()
    (index,) = [i for i, line in enumerate(lines) if line == old]
    lines[index] = new
    path.write_text("\n".join(lines) + "\n")
    return index + 1


# (name, stack, old line, new line, column of the offending value, expected message fragments)
BAD_VALUES = [
    (
        "max-replicas-not-a-number",
        "us-east-1",
        "    max_replicas: 50",
        '    max_replicas: "fifty"',
        19,
        ['scaling.autoscaler.max_replicas: found the string "fifty"; expected an integer'],
    ),
    (
        "min-above-max",
        "us-west-2",
        "    min_replicas: 3",
        "    min_replicas: 60",
        19,
        ["min_replicas (60) is above max_replicas (50)"],
    ),
    (
        "cpu-target-above-100",
        "eu-west-1",
        "    cpu_utilization: 70        # percent of requested CPU",
        "    cpu_utilization: 170",
        22,
        ["scaling.autoscaler.cpu_utilization: found the integer 170; expected", "100"],
    ),
    (
        "pdb-not-below-hpa-min",
        "us-east-1",
        "    min_available: 2",
        "    min_available: 3",
        20,
        ["min_available (3) must be below the autoscaler's min_replicas (3)"],
    ),
    (
        "unknown-key",
        "us-east-1",
        "    max_replicas: 50",
        "    max_replica: 50",
        5,  # the misspelt key itself, not its value
        [
            "unknown key 'max_replica' (did you mean 'max_replicas'?); "
            "expected one of: min_replicas, max_replicas"
        ],
    ),
    (
        # A typo in another region's block fails this region's stack too: every stack validates all blocks.
        "typo-in-another-regions-block",
        "us-east-1",
        '    timezone: "Europe/London"',
        '    timezon: "Europe/London"',
        5,
        ["regional_config.eu_west_1.timezon: unknown key 'timezon' (did you mean 'timezone'?)"],
    ),
    (
        "backups-too-short",
        "us-east-1",
        "backup_retention_days: @if($region == $primary_region, 14, 7)    # the primary keeps two weeks",
        "backup_retention_days: 3",
        24,
        ["database.backup_retention_days: found the integer 3; expected", "7"],
    ),
    (
        "redis-without-tls",
        "us-west-2",
        "    ssl: true",
        "    ssl: false",
        10,
        ["expected true (ElastiCache accepts an auth token only over TLS)"],
    ),
    (
        "region-not-a-replica",
        "eu-west-1",
        'replica_regions: ["us-west-2", "eu-west-1"]',
        'replica_regions: ["us-west-2"]',
        18,
        ["region 'eu-west-1' is neither the primary region (us-east-1) nor in replica_regions"],
    ),
    (
        # A format is described in words, never as the regex behind it.
        "duration-in-words",
        "us-west-2",
        'cache_ttl: @if(@metrics("cpu_usage", 0) > 80, "30s", "5m")'
        '                    # hot pods: expire sooner',
        'cache_ttl: "5 minutes"',
        12,
        ['performance.cache_ttl: found the string "5 minutes"; expected a duration like "500ms", "30s"'],
    ),
    (
        "namespace-not-a-kubernetes-name",
        "us-east-1",
        'namespace: "tusk-app"',
        'namespace: "Tusk_App"',
        12,
        ['app.namespace: found the string "Tusk_App"; expected a Kubernetes name: lowercase letters'],
    ),
    (
        "redis-without-snapshots",
        "eu-west-1",
        '    snapshot_retention_days: @if($region == "us-east-1", 7, 3)',
        "    snapshot_retention_days: 0",
        30,
        ["distributed_cache.redis_cluster.snapshot_retention_days: found the integer 0; "
         "expected a value of at least 1"],
    ),
    (
        "replica-region-listed-twice",
        "us-west-2",
        'replica_regions: ["us-west-2", "eu-west-1"]',
        'replica_regions: ["us-west-2", "eu-west-1", "us-west-2"]',
        45,
        ["'us-west-2' is listed twice in replica_regions"],
    ),
    (
        "cpu-limit-below-request",
        "us-east-1",
        '        cpu: "500m"',
        '        cpu: "100m"',
        14,
        ["limits.cpu (100m) is below requests.cpu (250m)"],
    ),
]


@pytest.mark.parametrize(
    ("stack", "old", "new", "column", "fragments"),
    [case[1:] for case in BAD_VALUES],
    ids=[case[0] for case in BAD_VALUES],
)
def test_bad_value_fails_positioned_before_any_resource(
    program_project: Path,
    monkeypatch: pytest.MonkeyPatch,
    stack: str,
    old: str,
    new: str,
    column: int,
    fragments: list[str],
) -> None:
    line = edit(program_project, old, new)
    monkeypatch.setattr(runner, "RecordingMonitor", Capturing)
    Capturing.made.clear()
    with pytest.raises(TuskError) as caught:
        runner.run_stack(program_project, stack, env=PROGRAM_SECRETS)
    error = caught.value
    assert isinstance(error, SettingsError)
    assert (error.file, error.line, error.column) == (str(program_project / "global.tsk"), line, column)
    for fragment in fragments:
        assert fragment in error.message
    assert str(error).startswith(f"{program_project / 'global.tsk'}:{line}:{column}: ")
    assert new.strip() in error.render() and "^" in error.render()
    (monitor,) = Capturing.made
    assert monitor.registered == [] and monitor.get_registered_resources() == {}


def test_unknown_region_fails_at_the_regional_lookup(
    program_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack_file = program_project / "Pulumi.us-west-2.yaml"
    (program_project / "Pulumi.ap-south-1.yaml").write_text(
        stack_file.read_text().replace("us-west-2", "ap-south-1")
    )
    monkeypatch.setattr(runner, "RecordingMonitor", Capturing)
    Capturing.made.clear()
    with pytest.raises(TuskError) as caught:
        runner.run_stack(program_project, "ap-south-1", env=PROGRAM_SECRETS)
    error = caught.value
    lines = (program_project / "global.tsk").read_text().splitlines()
    assert error.file == str(program_project / "global.tsk")
    assert lines[error.line - 1].startswith("cdn_url: $regional_config.${region}")
    assert "'ap_south_1'" in error.message and "'us_east_1', 'us_west_2', 'eu_west_1'" in error.message
    (monitor,) = Capturing.made
    assert monitor.registered == []


def test_short_redis_token_reports_its_length_never_its_value(program_project: Path) -> None:
    short = {**PROGRAM_SECRETS, "REDIS_CLUSTER_PASSWORD": "tiny-secret"}
    with pytest.raises(SettingsError) as caught:
        runner.run_stack(program_project, "us-east-1", env=short)
    assert "11 characters; ElastiCache expects 16 to 128" in caught.value.message
    assert "tiny-secret" not in caught.value.render()


def test_wrong_type_of_a_secret_field_does_not_show_a_value() -> None:
    text = (
        (PROJECT_DIR / "global.tsk")
        .read_text()
        .replace('password: @env.secure("DB_PRIMARY_PASSWORD")', 'password: "plain-text-password"')
    )
    document = evaluate_text(text, filename="global.tsk", providers=Providers(env=dict(PROGRAM_SECRETS)))
    with pytest.raises(SettingsError) as caught:
        settings_from_document(document)
    assert caught.value.message == (
        "database.primary.password: found a plain string (its value is not shown); "
        "expected a secret from @env.secure(...)"
    )
    assert "plain-text-password" not in caught.value.message
    # The snippet is the line as evaluated (the edited text, not the file of that name on disk), with the
    # pasted password masked: a literal written for a secret field is a secret too (issue 11).
    assert "plain-text-password" not in caught.value.render()
    assert 'password: "[secret]"' in caught.value.render()


def test_a_long_value_read_from_the_environment_is_quoted_whole() -> None:
    # The caret snippet shows the @env(...) call, not the value: the message shows all of it, past the 40
    # characters where the language's describe() would cut it, down to the space that makes it no URL.
    url = "https://internal-tusk-alb-0123456789.us-east-1.elb.amazonaws.com/ health"
    env = {**PROGRAM_SECRETS, "LOAD_BALANCER_URL": url}
    text = (PROJECT_DIR / "global.tsk").read_text()
    document = evaluate_text(text, filename="global.tsk", providers=Providers(env=env))
    with pytest.raises(SettingsError) as caught:
        settings_from_document(document)
    assert caught.value.message == (
        f'scaling.load_balancer: found the string "{url}"; expected an http:// or https:// URL without spaces'
    )


def test_several_problems_report_the_first_in_file_order() -> None:
    text = (PROJECT_DIR / "global.tsk").read_text()
    text = text.replace("    max_replicas: 50", '    max_replicas: "fifty"').replace("port: 80", 'port: "80"')
    document = evaluate_text(text, filename="global.tsk", providers=Providers(env=dict(PROGRAM_SECRETS)))
    with pytest.raises(SettingsError) as caught:
        settings_from_document(document)
    assert caught.value.message.startswith("scaling.autoscaler.max_replicas:")
    assert caught.value.message.endswith("(and 1 more problem)")
    # The other one is listed under the first's snippet, positioned, so one run shows both.
    (also,) = caught.value.also
    port_line = text.splitlines().index('port: "80"') + 1
    assert also == f'global.tsk:{port_line}:7: app.port: found the string "80"; expected an integer'
    assert caught.value.render().splitlines()[-1] == f"also: {also}"


@pytest.mark.parametrize(
    ("limit", "problem"),
    [
        ('"256M"', "limits.memory (256M) is below requests.memory (256Mi)"),
        ('"268435455"', "limits.memory (268435455) is below requests.memory (256Mi)"),
        ('"268435456"', None),
        ('"1Gi"', None),
        ('"0.25Gi"', 'app.resources.limits.memory: found the string "0.25Gi"; expected a memory quantity'),
    ],
)
def test_memory_limit_is_compared_with_its_request_across_units(limit: str, problem: str | None) -> None:
    # The request is 256Mi = 268435456 bytes; 256M (decimal) is less.
    text = (PROJECT_DIR / "global.tsk").read_text()
    text = text.replace('        memory: "512Mi"', f"        memory: {limit}")
    document = evaluate_text(text, filename="global.tsk", providers=Providers(env=dict(PROGRAM_SECRETS)))
    if problem is None:
        assert settings_from_document(document).app.resources.limits.memory == limit.strip('"')
        return
    with pytest.raises(SettingsError) as caught:
        settings_from_document(document)
    assert caught.value.message.startswith(problem)
    assert caught.value.line == text.splitlines().index(f"        memory: {limit}") + 1


def _global_tsk_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (PROJECT_DIR / "global.tsk").read_text()
    assert old in text
    path = tmp_path / "global.tsk"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_hard_coded_region_is_reported_before_what_follows_from_it(tmp_path: Path) -> None:
    # Without this check the first error was "zone 'us-west-2a' is not in region 'us-east-1'".
    path = _global_tsk_with(tmp_path, '$region: @env("REGION", "us-east-1")', '$region: "us-east-1"')
    env = {"REGION": "us-west-2", "ZONE": "us-west-2a", **PROGRAM_SECRETS}
    with pytest.raises(SettingsError) as caught:
        load_region_settings(path, providers=Providers(env=env))
    assert str(caught.value) == (
        f"{path}:9:10: global.tsk evaluated to region 'us-east-1' for a stack in 'us-west-2'; "
        f"{REGION_FROM_STACK}"
    )
    assert caught.value.render().splitlines()[2] == '9 | $region: "us-east-1"'
    assert REGION_FROM_STACK == (
        'expected global.tsk to take its region from REGION (e.g. $region: @env("REGION", "us-east-1"))'
    )


def test_a_region_written_into_the_global_section_is_reported_there(tmp_path: Path) -> None:
    path = _global_tsk_with(tmp_path, "region: $region", 'region: "eu-west-1"')
    line = next(n for n, row in enumerate(path.read_text().splitlines(), 1) if 'region: "eu-west-1"' in row)
    env = {"REGION": "us-west-2", "ZONE": "us-west-2a", **PROGRAM_SECRETS}
    with pytest.raises(SettingsError) as caught:
        load_region_settings(path, providers=Providers(env=env))
    assert (caught.value.line, caught.value.message) == (
        line,
        f"global.tsk evaluated to region 'eu-west-1' for a stack in 'us-west-2'; {REGION_FROM_STACK}",
    )


def test_the_stack_region_is_reported_even_when_other_values_are_invalid(tmp_path: Path) -> None:
    path = _global_tsk_with(tmp_path, '$region: @env("REGION", "us-east-1")', '$region: "us-east-1"')
    path.write_text(path.read_text().replace("    max_replicas: 50", '    max_replicas: "fifty"', 1))
    env = {"REGION": "eu-west-1", "ZONE": "eu-west-1a", **PROGRAM_SECRETS}
    with pytest.raises(SettingsError) as caught:
        load_region_settings(path, providers=Providers(env=env))
    assert caught.value.message.startswith(
        "global.tsk evaluated to region 'us-east-1' for a stack in 'eu-west-1'"
    )
