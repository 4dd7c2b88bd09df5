"""AWS Secrets Manager and SSM Parameter Store as `@env.secure` sources, against moto's in-process AWS."""

from __future__ import annotations

import logging
import socket
import time

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from tusk_infra.backends.aws_clients import AwsOptions
from tusk_infra.backends.aws_secrets import (
    ParameterStoreSource,
    SecretAccessDenied,
    SecretNameInvalid,
    SecretNaming,
    SecretsManagerSource,
    SecretStoreUnreachable,
)
from tusk_infra.backends.errors import BackendError

REGION = "us-east-1"
# Moto's dummy credentials on every test here, so none can reach a real AWS account.
pytestmark = pytest.mark.usefixtures("fake_aws_credentials")
CANARY = "canary-5e0d7c1f-a9b4-4d7e-8c52-SECRET"


def naming(stack: str = "us-east-1") -> SecretNaming:
    return SecretNaming(stack=stack)


def test_naming_rule_puts_the_stack_in_the_default_prefix() -> None:
    assert naming().aws_name("DB_PRIMARY_PASSWORD") == "/tusk-infra/us-east-1/DB_PRIMARY_PASSWORD"
    assert SecretNaming("prod/app-", "x").aws_name("TOKEN") == "prod/app-TOKEN"


def test_naming_rule_rejects_names_aws_cannot_hold() -> None:
    with pytest.raises(SecretNameInvalid, match=r"secret name 'DB PASSWORD' cannot be looked up in AWS"):
        naming().aws_name("DB PASSWORD")


def test_prefix_with_stack_needs_a_stack() -> None:
    expected = r"needs a stack name: pass --stack NAME or set a prefix without \{stack\}"
    with pytest.raises(BackendError, match=expected):
        SecretNaming().aws_name("TOKEN")


def test_secrets_manager_reads_the_secret_string(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="/tusk-infra/us-east-1/DB_PRIMARY_PASSWORD", SecretString="s3cr3t-value")
    source = SecretsManagerSource(naming(), AwsOptions(region=REGION))
    assert source.lookup("DB_PRIMARY_PASSWORD") == "s3cr3t-value"


def test_secrets_manager_reads_a_binary_secret_as_text(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="/tusk-infra/us-east-1/TOKEN", SecretBinary=b"binary-token")
    assert SecretsManagerSource(naming(), AwsOptions(region=REGION)).lookup("TOKEN") == "binary-token"


def test_secrets_manager_other_stack_does_not_see_the_secret(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="/tusk-infra/us-east-1/TOKEN", SecretString="east")
    assert SecretsManagerSource(naming("eu-west-1"), AwsOptions(region=REGION)).lookup("TOKEN") is None


def test_secrets_manager_missing_secret_is_none(aws: None) -> None:
    assert SecretsManagerSource(naming(), AwsOptions(region=REGION)).lookup("NOT_THERE") is None


def test_ssm_decrypts_a_secure_string(aws: None) -> None:
    client = boto3.client("ssm", region_name=REGION)
    client.put_parameter(Name="/tusk-infra/us-east-1/REDIS_PASSWORD", Value="redis-pw", Type="SecureString")
    assert ParameterStoreSource(naming(), AwsOptions(region=REGION)).lookup("REDIS_PASSWORD") == "redis-pw"


def test_ssm_missing_parameter_is_none(aws: None) -> None:
    assert ParameterStoreSource(naming(), AwsOptions(region=REGION)).lookup("NOT_THERE") is None


def test_lookups_are_memoised_per_run(aws: None) -> None:
    client = boto3.client("ssm", region_name=REGION)
    client.put_parameter(Name="/tusk-infra/us-east-1/A", Value="first", Type="SecureString")
    source = ParameterStoreSource(naming(), AwsOptions(region=REGION))
    assert source.lookup("A") == "first"
    client.put_parameter(Name="/tusk-infra/us-east-1/A", Value="second", Type="SecureString", Overwrite=True)
    assert source.lookup("A") == "first"


def stubbed(service: str) -> tuple[object, Stubber]:
    client = boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
    return client, Stubber(client)


def test_access_denied_is_a_clear_error_naming_the_secret() -> None:
    client, stub = stubbed("secretsmanager")
    stub.add_client_error(
        "get_secret_value", service_error_code="AccessDeniedException", service_message="not authorized"
    )
    with stub, pytest.raises(SecretAccessDenied) as caught:
        SecretsManagerSource(naming(), AwsOptions(), client=client).lookup("DB_PRIMARY_PASSWORD")
    assert caught.value.message == (
        "cannot read secret 'DB_PRIMARY_PASSWORD' from AWS Secrets Manager "
        "(/tusk-infra/us-east-1/DB_PRIMARY_PASSWORD): AccessDeniedException: not authorized"
    )


def test_kms_failure_on_ssm_is_a_clear_error() -> None:
    client, stub = stubbed("ssm")
    stub.add_client_error("get_parameter", service_error_code="InvalidKeyId", service_message="key disabled")
    with stub, pytest.raises(SecretAccessDenied, match=r"SSM Parameter Store .*InvalidKeyId: key disabled"):
        ParameterStoreSource(naming(), AwsOptions(), client=client).lookup("REDIS_PASSWORD")


def test_unreachable_endpoint_fails_within_the_bound() -> None:
    options = AwsOptions(region=REGION, endpoint_url="http://127.0.0.1:9", connect_timeout=0.5,
                         read_timeout=0.5, total_attempts=2)
    started = time.monotonic()
    # Within the bound either cause may come first on a busy machine (refused, or the limit reached).
    unreachable = r"cannot read secret 'TOKEN' .*(cannot reach AWS|did not answer in time)"
    with pytest.raises(SecretStoreUnreachable, match=unreachable):
        SecretsManagerSource(naming(), options, deadline_seconds=3).lookup("TOKEN")
    assert time.monotonic() - started < 3.5


def test_silent_endpoint_hits_the_hard_deadline() -> None:
    # A server that accepts connections and never answers: only the deadline ends the wait.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        options = AwsOptions(region=REGION, endpoint_url=endpoint, connect_timeout=5, read_timeout=5)
        started = time.monotonic()
        with pytest.raises(SecretStoreUnreachable, match=r"did not answer in time \(no answer within 1 s\)"):
            ParameterStoreSource(naming(), options, deadline_seconds=1).lookup("TOKEN")
        assert time.monotonic() - started < 1.5


def test_ssm_secret_value_never_reaches_debug_logs(aws: None, caplog: pytest.LogCaptureFixture) -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/tusk-infra/us-east-1/CANARY", Value=CANARY, Type="SecureString"
    )
    caplog.set_level(logging.DEBUG)
    assert ParameterStoreSource(naming(), AwsOptions(region=REGION)).lookup("CANARY") == CANARY
    assert "GetParameter" in caplog.text
    assert CANARY not in caplog.text


def test_secret_value_never_reaches_logs_or_errors(
    aws: None, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Created before capturing starts: the setup call's own request necessarily holds the value.
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="/tusk-infra/us-east-1/CANARY", SecretString=CANARY
    )
    capsys.readouterr()
    caplog.set_level(logging.DEBUG)
    source = SecretsManagerSource(naming(), AwsOptions(region=REGION))
    assert source.lookup("CANARY") == CANARY
    # A later failure on the same source must not mention what it read before.
    with pytest.raises(BackendError) as caught:
        source.lookup("BAD NAME")
    captured = capsys.readouterr()
    assert "GetSecretValue" in caplog.text  # botocore did log the call, at DEBUG, just not its answer
    assert CANARY not in caught.value.message
    assert CANARY not in caplog.text
    assert CANARY not in captured.out + captured.err


def test_missing_region_is_reported_as_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(SecretStoreUnreachable, match=r"no AWS region configured \(set aws:region"):
        SecretsManagerSource(naming(), AwsOptions()).lookup("TOKEN")


def test_bounded_client_configuration() -> None:
    from tusk_infra.backends.aws_clients import make_client

    options = AwsOptions(region=REGION, connect_timeout=0.7, read_timeout=1.3, total_attempts=2)
    client = make_client("ssm", options)
    config: Config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (0.7, 1.3)
    assert config.retries == {"total_max_attempts": 2, "mode": "standard"}
