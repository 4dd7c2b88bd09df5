"""boto3 clients with bounded time, and one-line descriptions of AWS failures that are safe to print."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
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
    # The largest response body read (a secret is at most 64 KB, a metric query's answer far less).
    max_response_bytes: int = field(default_factory=lambda: _max_response_bytes())


MAX_RESPONSE_BYTES_VARIABLE = "TUSK_MAX_AWS_RESPONSE_BYTES"
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024


def _max_response_bytes() -> int:
    text = os.environ.get(MAX_RESPONSE_BYTES_VARIABLE, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_RESPONSE_BYTES


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
        client = session.client(service, endpoint_url=options.endpoint_url, config=config)
    except BotoCoreError as error:
        cause = describe_aws_failure(error)
        raise BackendError(f"cannot set up the AWS {service} client: {cause}") from error
    bound_response_size(client, options.max_response_bytes)
    return client


def bound_response_size(client: Any, limit: int) -> None:
    """Make the client read at most `limit` bytes of any response body.

    botocore reads a whole body into memory before parsing it; an endpoint (or something posing as one)
    that streams without end would exhaust memory long before a timeout. The endpoint's HTTP session is
    wrapped (botocore has no option for this); test doubles that answer in `before-send` are not affected.
    """
    endpoint = getattr(client, "_endpoint", None)
    if endpoint is not None and not isinstance(endpoint.http_session, _BoundedHttpSession):
        endpoint.http_session = _BoundedHttpSession(endpoint.http_session, limit)


class ResponseTooLarge(Exception):
    """An AWS response body ran past the size limit."""


class _BoundedHttpSession:
    """botocore's HTTP session, reading each body a chunk at a time and stopping past a limit."""

    def __init__(self, inner: Any, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    def send(self, request: Any) -> Any:
        from botocore.exceptions import HTTPClientError

        buffered = not request.stream_output
        # Asked to stream, the session leaves the body unread: read it here, bounded, as it would have.
        request.stream_output = True
        try:
            response = self._inner.send(request)
        finally:
            request.stream_output = not buffered
        if buffered:
            try:
                response._content = _read_bounded(response.raw, self._limit)
            except ResponseTooLarge as error:
                raise HTTPClientError(error=error) from None
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _read_bounded(raw: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in raw.stream(64 * 1024, decode_content=False):
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(
                    f"the response is larger than {limit:,} bytes, the limit for one AWS answer; "
                    f"set {MAX_RESPONSE_BYTES_VARIABLE} to raise it"
                )
            chunks.append(chunk)
    finally:
        if size <= limit:
            raw.release_conn()
        else:
            # The rest of an oversized body is never read: drop the connection rather than reuse it.
            raw.close()
    return b"".join(chunks)


def describe_aws_failure(error: BaseException) -> str:
    """A short cause for a failed AWS call: the error code and AWS's message, or the transport problem."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        HTTPClientError,
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
    if isinstance(error, HTTPClientError) and isinstance(error.kwargs.get("error"), ResponseTooLarge):
        return str(error.kwargs["error"])
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
