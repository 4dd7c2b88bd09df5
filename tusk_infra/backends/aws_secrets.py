"""`@env.secure` sources backed by AWS Secrets Manager and SSM Parameter Store.

Naming rule: `@env.secure("NAME")` in stack STACK reads the secret or parameter named
`<prefix>NAME`, where the prefix template defaults to `/tusk-infra/{stack}/`
(so `/tusk-infra/us-east-1/DB_PASSWORD`).
A secret that does not exist is "not found" (None), so the evaluator can list every missing name at once;
anything else (access denied, KMS, unreachable) is a BackendError that names the secret, never its value.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tusk_infra.backends import defaults
from tusk_infra.backends.aws_clients import (
    AwsOptions,
    AwsService,
    describe_aws_failure,
    error_code,
    make_client,
)
from tusk_infra.backends.deadline import DeadlineExceeded, call_with_deadline
from tusk_infra.backends.errors import BackendError

DEFAULT_SECRET_PREFIX = defaults.DEFAULT_SECRET_PREFIX

# The characters both services accept in a name (SSM allows fewer than Secrets Manager), minus `/`,
# which belongs to the prefix's hierarchy.
_SECRET_NAME = re.compile(r"[A-Za-z0-9_.-]+")

# Secrets are read once per run, but a slow region must not hang a preview either.
SECRET_DEADLINE_SECONDS = 10.0


class SecretNameInvalid(BackendError):
    """The `@env.secure` name cannot be an AWS secret or parameter name, or the prefix needs a stack."""


class SecretAccessDenied(BackendError):
    """AWS answered, but refused: IAM, KMS, a secret scheduled for deletion, a binary value."""


class SecretStoreUnreachable(BackendError):
    """AWS could not be reached, or did not answer within the bound, or no credentials/region were found."""


def _is_transport(error: BaseException) -> bool:
    """True when AWS was never properly asked (network, time, credentials), rather than refusing."""
    from botocore.exceptions import BotoCoreError

    # AWS's own refusals are ClientErrors, which are not BotoCoreErrors; a BackendError here comes from
    # setting up the client (no region, bad profile).
    return isinstance(error, DeadlineExceeded | BotoCoreError | BackendError)


# botocore logs every response body at DEBUG, which for these calls is the secret itself. While a thread
# reads a secret, that logger's records from that thread are dropped.
_reading_secret = threading.local()


class _HideSecretResponses(logging.Filter):
    """Drops botocore's response-body DEBUG records emitted while this thread reads a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_reading_secret, "active", False)


_BOTOCORE_BODY_LOGGERS = ("botocore.parsers", "botocore.endpoint", "botocore.httpchecksum")
for _logger_name in _BOTOCORE_BODY_LOGGERS:
    logging.getLogger(_logger_name).addFilter(_HideSecretResponses())


@dataclass(frozen=True)
class SecretNaming:
    """Turns an `@env.secure` name into the AWS secret/parameter name for one stack."""

    prefix: str = DEFAULT_SECRET_PREFIX
    stack: str | None = None

    def aws_name(self, name: str) -> str:
        """The full AWS name for `name`, e.g. `/tusk-infra/us-east-1/DB_PASSWORD`."""
        if not _SECRET_NAME.fullmatch(name):
            raise SecretNameInvalid(
                f"secret name {name!r} cannot be looked up in AWS: "
                "expected letters, digits, '_', '.' and '-' only"
            )
        return self.resolved_prefix() + name

    def resolved_prefix(self) -> str:
        """The prefix with `{stack}` filled in."""
        if "{stack}" in self.prefix and not self.stack:
            raise SecretNameInvalid(
                f"the secret prefix {self.prefix!r} needs a stack name: pass --stack NAME "
                "or set a prefix without {stack} (--secret-prefix or tusk-infra:secretPrefix)"
            )
        return self.prefix.replace("{stack}", self.stack or "")


class _AwsSecretSource:
    """Shared lookup, memoising and error handling; subclasses make the one AWS call."""

    service: AwsService = "ssm"
    label = ""
    not_found_codes: frozenset[str] = frozenset()

    def __init__(
        self,
        naming: SecretNaming,
        options: AwsOptions,
        *,
        client: Any = None,
        deadline_seconds: float = SECRET_DEADLINE_SECONDS,
    ) -> None:
        self.naming = naming
        self._options = options
        self._client = client
        self._deadline = deadline_seconds
        self._seen: dict[str, str | None] = {}

    def lookup(self, name: str) -> str | None:
        """The secret's value, None if it does not exist; BackendError if it cannot be read."""
        if name not in self._seen:
            self._seen[name] = self._read(name)
        return self._seen[name]

    def _read(self, name: str) -> str | None:
        aws_name = self.naming.aws_name(name)
        try:
            # Client creation is inside the bound too: its first use in a process loads botocore's models.
            return call_with_deadline(lambda: self._fetch_quietly(aws_name), self._deadline)
        except SecretAccessDenied:
            raise
        except Exception as error:
            if error_code(error) in self.not_found_codes:
                return None
            failure = SecretStoreUnreachable if _is_transport(error) else SecretAccessDenied
            cause = error.message if isinstance(error, BackendError) else describe_aws_failure(error)
            raise failure(f"cannot read secret {name!r} from {self.label} ({aws_name}): {cause}") from error

    def _fetch_quietly(self, aws_name: str) -> str:
        _reading_secret.active = True
        try:
            if self._client is None:
                self._client = make_client(self.service, self._options)
            return self._fetch(self._client, aws_name)
        finally:
            _reading_secret.active = False

    def _fetch(self, client: Any, aws_name: str) -> str:
        raise NotImplementedError


class SecretsManagerSource(_AwsSecretSource):
    """Reads `@env.secure` names from AWS Secrets Manager (the secret's current string value)."""

    service: AwsService = "secretsmanager"
    label = "AWS Secrets Manager"
    not_found_codes = frozenset({"ResourceNotFoundException"})

    def _fetch(self, client: Any, aws_name: str) -> str:
        response = client.get_secret_value(SecretId=aws_name)
        if "SecretString" in response:
            return str(response["SecretString"])
        return _binary_secret_text(response.get("SecretBinary", b""), aws_name)


class ParameterStoreSource(_AwsSecretSource):
    """Reads `@env.secure` names from SSM Parameter Store, decrypting SecureString parameters."""

    service: AwsService = "ssm"
    label = "SSM Parameter Store"
    not_found_codes = frozenset({"ParameterNotFound"})

    def _fetch(self, client: Any, aws_name: str) -> str:
        response = client.get_parameter(Name=aws_name, WithDecryption=True)
        return str(response["Parameter"]["Value"])


def _binary_secret_text(blob: bytes, aws_name: str) -> str:
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretAccessDenied(f"secret {aws_name} is binary, not UTF-8 text") from None


SOURCE_KINDS: dict[str, Callable[..., _AwsSecretSource]] = {
    "secretsmanager": SecretsManagerSource,
    "ssm": ParameterStoreSource,
}
