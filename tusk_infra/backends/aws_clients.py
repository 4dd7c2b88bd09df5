"""boto3 clients with bounded time, and one-line descriptions of AWS failures that are safe to print."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tusk_infra.backends.deadline import DeadlineExceeded
from tusk_infra.backends.errors import BackendError

# The services this package talks to (a Literal, so boto3's typed overloads apply).
AwsService = Literal["secretsmanager", "ssm", "cloudwatch"]


@dataclass(frozen=True)
class AwsOptions:
    """Where and how patiently to talk to AWS; None fields fall back to boto3's own chain (env, profile)."""

    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    connect_timeout: float = 1.0
    read_timeout: float = 1.0
    # Total attempts including the first, so the worst case stays a small multiple of the timeouts.
    total_attempts: int = 2


def make_client(service: AwsService, options: AwsOptions) -> Any:
    """A boto3 client for `service`; creating it sends nothing over the network."""
    # Imported here so runs that use no AWS backend never pay for (or depend on) boto3 at import time.
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        retries={"total_max_attempts": options.total_attempts, "mode": "standard"},
    )
    try:
        session = boto3.session.Session(profile_name=options.profile, region_name=options.region)
        return session.client(service, endpoint_url=options.endpoint_url, config=config)
    except BotoCoreError as error:
        cause = describe_aws_failure(error)
        raise BackendError(f"cannot set up the AWS {service} client: {cause}") from error


def describe_aws_failure(error: BaseException) -> str:
    """A short cause for a failed AWS call: the error code and AWS's message, or the transport problem."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ReadTimeoutError,
    )

    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code", "error")
        message = details.get("Message", "")
        return f"{code}: {message}" if message else str(code)
    if isinstance(error, DeadlineExceeded):
        return f"AWS did not answer in time ({error})"
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        return f"cannot reach AWS ({error})"
    if isinstance(error, ReadTimeoutError):
        return f"AWS did not answer in time ({error})"
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found (environment, shared config or instance role)"
    if isinstance(error, NoRegionError):
        return "no AWS region configured (set aws:region in the stack config or --aws-region)"
    return f"{type(error).__name__}: {error}"


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a ClientError, else None."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None
