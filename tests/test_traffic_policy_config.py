"""The traffic policies' config, derived from global.tsk and the project's stacks (as allowedRegions is)."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import PROGRAM_SECRETS

from tusk_infra.checks.stack_file import StackPolicySettings, read_stack_settings
from tusk_infra.checks.traffic_config import traffic_policy_config
from tusk_infra.tusk import Providers, evaluate_file


def derived(project: Path, stack: str = "us-west-2") -> dict[str, dict[str, object]]:
    env = {"REGION": stack, "ZONE": f"{stack}a", **PROGRAM_SECRETS}
    document = evaluate_file(project / "global.tsk", providers=Providers(env=env))
    return traffic_policy_config(read_stack_settings(project, stack), document)


def without_minimum(project: Path) -> None:
    path = project / "global.tsk"
    text, count = re.subn(r"^min_serving_regions: 2.*\n", "", path.read_text(), count=1, flags=re.M)
    assert count == 1, "no min_serving_regions line in global.tsk; update this test"
    path.write_text(text)


def test_the_written_minimum_and_the_serving_regions(program_project: Path) -> None:
    config = derived(program_project)
    assert config["min-serving-regions"] == {"minServingRegions": 2, "drainedRegions": [],
                                             "servingRegions": ["us-east-1", "us-west-2", "eu-west-1"]}
    assert config["serving-region-health-check"]["region"] == "us-west-2"


def test_the_default_minimum_is_two_while_there_are_two_stacks_or_more(program_project: Path) -> None:
    without_minimum(program_project)
    assert derived(program_project)["min-serving-regions"]["minServingRegions"] == 2
    (program_project / "Pulumi.eu-west-1.yaml").unlink()
    config = derived(program_project)["min-serving-regions"]
    # eu-west-1 is still declared in regional_config, but without a stack it serves nothing.
    assert config["servingRegions"] == ["us-east-1", "us-west-2"] and config["minServingRegions"] == 2
    (program_project / "Pulumi.us-east-1.yaml").unlink()
    assert derived(program_project)["min-serving-regions"]["minServingRegions"] == 1


def test_no_global_traffic_no_config(program_project: Path) -> None:
    path = program_project / "global.tsk"
    text = path.read_text()
    path.write_text(text[: text.index("[global_traffic]")])
    assert derived(program_project) == {}


def test_without_a_stack_file_the_declared_regions_count(program_project: Path) -> None:
    env = {"REGION": "us-west-2", "ZONE": "us-west-2a", **PROGRAM_SECRETS}
    document = evaluate_file(program_project / "global.tsk", providers=Providers(env=env))
    config = traffic_policy_config(StackPolicySettings(Path("Pulumi.us-west-2.yaml")), document)
    assert config["min-serving-regions"]["servingRegions"] == ["us-east-1", "us-west-2", "eu-west-1"]
    assert config["serving-region-health-check"]["region"] is None
