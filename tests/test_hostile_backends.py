"""Hostile AWS endpoints (issue 11, backends): an endpoint that streams an endless body is cut off at the
response-size limit, in bounded time and memory, with one positioned error — for Secrets Manager, SSM and
CloudWatch, run through the CLI in a bounded child."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import assert_positioned_error, assert_quiet, run_cli, serve_on_loopback

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(params=["content-length", "chunked"])
def endless_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that answers every request with 200 and a body that never ends."""
    chunked = request.param == "chunked"

    def stream(client: socket.socket) -> None:
        with client:
            client.recv(65536)
            header = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
                + (b"Transfer-Encoding: chunked" if chunked else b"Content-Length: 100000000000")
                + b"\r\n\r\n"
            )
            block = b"{" + b'"a": "' + b"x" * 65000 + b'",'
            piece = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
            try:
                client.sendall(header)
                while True:
                    client.sendall(piece)
            except OSError:
                return

    listener = serve_on_loopback(stream)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


BACKENDS = {
    "secretsmanager": (
        'password: @env.secure("DB_PASSWORD")\n',
        ("--secrets-from", "secretsmanager", "--secret-prefix", "app/"),
    ),
    "ssm": ('password: @env.secure("DB_PASSWORD")\n', ("--secrets-from", "ssm", "--secret-prefix", "/app/")),
    "cloudwatch": (
        'cpu: @metrics("cpu_usage", 0)\n',
        ("--metrics-provider", "cloudwatch", "--metric-dimension", "cluster=c", "--metric-dimension",
         "namespace=n", "--metric-dimension", "service=s"),
    ),
}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_an_endless_response_is_cut_off_at_the_size_limit(
    tmp_path: Path, endless_endpoint: str, backend: str
) -> None:
    text, options = BACKENDS[backend]
    (tmp_path / "b.tsk").write_text(text, encoding="utf-8")
    outcome = run_cli(
        "eval", "b.tsk", *options, "--aws-endpoint-url", endless_endpoint, "--aws-region", "us-east-1",
        cwd=tmp_path, env=CREDENTIALS,
    )
    if backend == "cloudwatch":
        # An unavailable metric falls back to its default with one warning, as designed; the cause is named.
        assert outcome.returncode == 0, outcome.stderr
        assert_quiet(outcome)
        assert outcome.stderr.count("warning:") == 1
    else:
        assert_positioned_error(outcome, "b.tsk")
    assert "TUSK_MAX_AWS_RESPONSE_BYTES" in outcome.stderr, outcome.stderr
    assert outcome.seconds < 20
