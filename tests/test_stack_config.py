"""Pulumi.<stack>.yaml typed by stack_config: a wrong value is reported at the value, a misspelt key at
the key."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from conftest import PROJECT_DIR

from tusk_infra import aws_regions
from tusk_infra.stack_config import StackConfigError, config_strings, load_stack_file, parse_stack_config

KUBE_CONTEXT = "tusk-infra:kubeContext: arn:aws:eks:us-west-2:111122223333:cluster/tusk-usw2"


def west_stack_file(tmp_path: Path, old: str, new: str) -> Path:
    """The fixture project's Pulumi.us-west-2.yaml with one edit."""
    text = (PROJECT_DIR / "Pulumi.us-west-2.yaml").read_text(encoding="utf-8")
    assert old in text, f"Pulumi.us-west-2.yaml no longer contains {old!r}: update this test"
    path = tmp_path / "Pulumi.us-west-2.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def parse_error(path: Path) -> StackConfigError:
    stack_file = load_stack_file(path)
    with pytest.raises(StackConfigError) as caught:
        parse_stack_config("us-west-2", config_strings(stack_file), stack_file)
    return caught.value


def position_of(path: Path, text: str) -> tuple[int, int]:
    """1-based line and column where `text` is written."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number, line.index(text) + 1
    raise AssertionError(f"{text!r} not in {path}")


def test_a_misspelt_region_is_reported_at_its_value_with_the_nearest_regions(tmp_path: Path) -> None:
    # It used to pass, and then blame the zones: "zone 'us-west-2a' is not in region 'us-wst-2'".
    path = west_stack_file(tmp_path, "aws:region: us-west-2", "aws:region: us-wst-2")
    error = parse_error(path)
    assert (error.file, error.line, error.column) == (str(path), *position_of(path, "us-wst-2"))
    assert error.message == (
        "aws:region: found 'us-wst-2'; expected an AWS region: did you mean us-west-2 or us-west-1?"
    )


def test_a_region_in_the_wrong_case_gets_its_spelling(tmp_path: Path) -> None:
    path = west_stack_file(tmp_path, "aws:region: us-west-2", "aws:region: US-WEST-2")
    assert parse_error(path).message.endswith("did you mean us-west-2 or us-west-1?")


def test_a_region_like_no_other_says_what_is_expected(tmp_path: Path) -> None:
    path = west_stack_file(tmp_path, "aws:region: us-west-2", "aws:region: Oregon")
    error = parse_error(path)
    assert (error.line, error.column) == position_of(path, "Oregon")
    assert error.message.startswith("aws:region: found 'Oregon'; expected an AWS region like 'us-east-1'")


@pytest.mark.parametrize("region", ["ap-southeast-4", "cn-north-1", "us-gov-west-1", "eu-central-2"])
def test_regions_of_every_partition_pass(tmp_path: Path, region: str) -> None:
    path = west_stack_file(tmp_path, "aws:region: us-west-2", f"aws:region: {region}")
    text = path.read_text(encoding="utf-8").replace("us-west-2", region)
    path.write_text(text, encoding="utf-8")
    stack_file = load_stack_file(path)
    assert parse_stack_config("us-west-2", config_strings(stack_file), stack_file).region == region


def test_the_known_regions_include_every_region_boto3_offers() -> None:
    session = boto3.session.Session()
    offered = {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ec2", partition_name=partition)
    }
    assert offered <= aws_regions.known_regions()
    assert not any(region.endswith("-global") for region in aws_regions.known_regions())


def test_without_botocores_partition_file_the_session_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    def moved() -> frozenset[str]:
        raise FileNotFoundError("partitions.json")

    monkeypatch.setattr(aws_regions, "_regions_from_partitions_file", moved)
    aws_regions.known_regions.cache_clear()
    try:
        assert {"us-west-2", "cn-north-1", "us-gov-east-1"} <= aws_regions.known_regions()
    finally:
        aws_regions.known_regions.cache_clear()


@pytest.mark.parametrize("written", ["aws:regoin", "aws:regions", "aws-region", "AWS:Region"])
def test_a_misspelt_region_key_is_named_at_its_line(tmp_path: Path, written: str) -> None:
    # It used to say only "missing aws:region" at the `config:` line.
    path = west_stack_file(tmp_path, "  aws:region: us-west-2", f"  {written}: us-west-2")
    error = parse_error(path)
    assert (error.file, error.line, error.column) == (str(path), *position_of(path, f"{written}:"))
    assert error.message == f"missing aws:region; found {written} here: did you mean aws:region?"


def test_a_missing_region_with_nothing_like_it_is_reported_at_the_config_block(tmp_path: Path) -> None:
    path = west_stack_file(tmp_path, "  aws:region: us-west-2\n", "  aws:profile: ops\n")
    error = parse_error(path)
    assert (error.line, error.column) == position_of(path, "config:")
    assert error.message == "missing aws:region; set it with `pulumi config set aws:region <value>`"


def test_an_eks_cluster_of_another_region_is_reported_at_the_kube_context(tmp_path: Path) -> None:
    other = "arn:aws:eks:us-east-1:111122223333:cluster/tusk-use1"
    path = west_stack_file(tmp_path, KUBE_CONTEXT, f"tusk-infra:kubeContext: {other}")
    error = parse_error(path)
    assert (error.file, error.line, error.column) == (str(path), *position_of(path, other))
    assert error.message == (
        "tusk-infra:kubeContext: EKS cluster 'tusk-use1' is in 'us-east-1', but the stack's aws:region is "
        "'us-west-2'; expected a cluster in 'us-west-2' (two stacks in one cluster would write the same "
        "Kubernetes object names)"
    )


@pytest.mark.parametrize(
    "context", ["prod-usw2", "arn:aws:eks:us-west-2:111122223333:cluster/tusk-usw2", "arn:aws:iam::1:role/x"]
)
def test_a_plain_context_name_or_an_eks_cluster_of_the_region_passes(tmp_path: Path, context: str) -> None:
    path = west_stack_file(tmp_path, KUBE_CONTEXT, f"tusk-infra:kubeContext: '{context}'")
    stack_file = load_stack_file(path)
    assert parse_stack_config("us-west-2", config_strings(stack_file), stack_file).kube_context == context
