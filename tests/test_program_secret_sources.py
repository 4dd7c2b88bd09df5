"""Inside the program, `@env.secure` falls back to the AWS secret stores the stack config enables."""

from __future__ import annotations

from pathlib import Path

import boto3
import pulumi.runtime
import pytest
from moto import mock_aws

from tusk_infra.offline.model import StackRun
from tusk_infra.offline.runner import run_stack
from tusk_infra.tusk.values import Secret

SSM_VALUE = "ssm-held-redis-token-0123456789"


def enable_ssm(project: Path, stack: str) -> None:
    path = project / f"Pulumi.{stack}.yaml"
    path.write_text(path.read_text() + "  tusk-infra:secretSources: [ssm]\n")


def redis_token(run: StackRun) -> Secret:
    group = next(r for r in run.resources if r.type == "aws:elasticache/replicationGroup:ReplicationGroup")
    token = group.inputs["authToken"]
    assert isinstance(token, Secret), f"{group.urn}: authToken must arrive as a secret"
    return token


@mock_aws
def test_a_secret_missing_from_env_and_stack_config_comes_from_ssm(
    program_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/tusk-infra/us-east-1/REDIS_CLUSTER_PASSWORD", Value=SSM_VALUE, Type="SecureString"
    )
    enable_ssm(program_project, "us-east-1")

    run = run_stack(program_project, "us-east-1", env={"DB_PRIMARY_PASSWORD": "db-password-from-env-0001"})

    assert redis_token(run).reveal() == SSM_VALUE
    # Only the secret nobody holds offline is a placeholder; the SSM one is not listed.
    assert not any("REDIS_CLUSTER_PASSWORD" in notice for notice in run.notices), run.notices
    assert SSM_VALUE not in repr(run.resources) + "".join(run.notices + run.warnings)


def test_without_secret_sources_the_same_secret_is_an_offline_placeholder(program_project: Path) -> None:
    run = run_stack(program_project, "us-east-1", env={"DB_PRIMARY_PASSWORD": "db-password-from-env-0001"})

    assert redis_token(run).reveal() != SSM_VALUE
    assert any("REDIS_CLUSTER_PASSWORD" in notice for notice in run.notices), run.notices


def test_a_stack_secret_decrypted_by_the_engine_is_used_wrapped_and_without_a_warning(
    program_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `pulumi up` does after `pulumi config set --secret tusk-infra:DB_PRIMARY_PASSWORD ...`: the engine
    # decrypts the value and hands it to the program as config, with the key marked secret.
    decrypted = "decrypted-by-the-engine-0001"
    key = "tusk-infra:DB_PRIMARY_PASSWORD"
    hand_over = pulumi.runtime.set_all_config

    def engine(config: dict[str, str], secret_keys: list[str] | None = None) -> None:
        hand_over({**config, key: decrypted}, [*(secret_keys or []), key])

    monkeypatch.setattr(pulumi.runtime, "set_all_config", engine)
    run = run_stack(program_project, "us-east-1", env={"REDIS_CLUSTER_PASSWORD": "redis-token-from-env-0001"})

    (instance,) = [r for r in run.resources if r.type == "aws:rds/instance:Instance"]
    assert instance.inputs["password"] == Secret(decrypted)
    (db_secret,) = [r for r in run.resources if r.name.endswith("-db-secrets")]
    assert isinstance(db_secret.inputs["stringData"], Secret)
    assert decrypted in db_secret.inputs["stringData"].reveal()
    # Neither a plain-text warning nor an offline placeholder: the value came from the stack's secrets. (The
    # one warning says the committed metric snapshot is an example.)
    assert run.notices == []
    assert len(run.warnings) == 1 and run.warnings[0].startswith(
        "metrics/us-east-1.json is an example snapshot: made-up numbers"), run.warnings
    assert decrypted not in repr(run.resources) + repr(run.outputs)
