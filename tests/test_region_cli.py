"""`tusk-infra region add|remove`, run as a user runs them on a copy of the project: the whole flow of adding
a region (placeholders, the connection budget check asks about, tuning, preview / check / diff), removing
one, and the usage errors."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from test_diff_git import build_repo_files
from test_preview_cli import offline_env, tusk_infra

NEW_REGION = "ap-southeast-1"
SECRETS = {"DB_PRIMARY_PASSWORD": "db-password-canary-8c2f",
           "REDIS_CLUSTER_PASSWORD": "redis-token-canary-0123456789"}
# What the person adding the region writes over the placeholders (their VPC, subnets, cluster...).
FILLED = {
    "tusk-infra:zones": ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"],
    "tusk-infra:instance": ["tusk-apse1"],
    "tusk-infra:vpcId": ["vpc-0d445e0c9d2f4a1b7"],
    "tusk-infra:subnetIds": [
        "subnet-0d441a2b3c4d5e6f7", "subnet-0d442b3c4d5e6f7a8", "subnet-0d443c4d5e6f7a8b9"],
    "tusk-infra:appSecurityGroupId": ["sg-0d449f8e7d6c5b4a3"],
    "tusk-infra:kubeContext": ["arn:aws:eks:ap-southeast-1:111122223333:cluster/tusk-apse1"],
    "tusk-infra:vpcCidr": ["10.4.0.0/16"],
    # Item 2, the https endpoint (an incident tool's, per service); item 1, the e-mail rota, is copied.
    "tusk-infra:alarmSubscriptions": ["", "https://alerts.example.com/sns/tusk-apse1"],
    "tusk-infra:metricsDimensions": [
        "{cluster: tusk-apse1, namespace: tusk-app, service: tusklang-app, "
        "db_instance: tusklang-app-ap-southeast-1}"
    ],
}
_PLACEHOLDER = re.compile(r'"<fill in: (?P<key>[\w:-]+)(?: item (?P<item>\d+))? of [^"\n]*>"')


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return tusk_infra(*args, env=offline_env(**SECRETS), cwd=cwd)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def repository_copy(root: Path) -> Path:
    """The project with its code, committed in a git repository of its own (diff renders revisions)."""
    # The repository's code around the fixture project (never the live deployment files).
    build_repo_files(root)
    git(root, "add", "-A")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "base")
    return root


def project_texts(project: Path) -> dict[str, str]:
    """The project's top-level files and their text (metrics/ is a folder of its own)."""
    return {path.name: path.read_text(encoding="utf-8") for path in project.iterdir() if path.is_file()}


def fill_placeholders(path: Path) -> list[str]:
    """Write the region's own values over the placeholders; the keys filled, in file order."""
    filled: list[str] = []

    def value(match: re.Match[str]) -> str:
        filled.append(match["key"])
        return FILLED[match["key"]][int(match["item"] or 1) - 1]

    path.write_text(_PLACEHOLDER.sub(value, path.read_text(encoding="utf-8")), encoding="utf-8")
    return filled


def replace_line(path: Path, pattern: str, new: str, within: str | None = None) -> None:
    """Replace the one line matching `pattern` (inside the text `within`, when given)."""
    text = path.read_text(encoding="utf-8")
    scope = within if within is not None else text
    found = re.findall(pattern, scope, re.M)
    assert len(found) == 1, f"{path.name}: {pattern!r} matched {found}; update this test"
    path.write_text(text.replace(scope, re.sub(pattern, new, scope, flags=re.M), 1), encoding="utf-8")


def test_add_a_region_fill_it_resolve_the_budget_tune_it_and_review(tmp_path: Path) -> None:
    root = repository_copy(tmp_path)
    tsk_before = (root / "global.tsk").read_text(encoding="utf-8")
    added = run("region", "add", NEW_REGION, cwd=root)
    assert added.returncode == 0, added.stderr
    out = added.stdout
    assert out.startswith(f"Added region {NEW_REGION} (copied from stack eu-west-1):\n")
    assert "OVER by 4545: `tusk-infra check` will fail (connection-budget)" in out
    assert "raise database.max_connections to 25025 or more" in out
    assert "database.primary.pool.max_open_conns to 102 or less in every region" in out
    assert f"  {NEW_REGION}: 50 pods x 100 = 5000 (new)\n" in out
    assert "the secret DB_PRIMARY_PASSWORD: pulumi config set --secret --stack ap-southeast-1" in out

    # A targeted edit: every line of the old file is still there, in order, and the new block sits in
    # [regional_config] with the replica list extended.
    tsk = (root / "global.tsk").read_text(encoding="utf-8")
    old_lines = iter(tsk.splitlines())
    assert all(line in old_lines for line in tsk_before.splitlines() if "replica_regions:" not in line)
    block = re.search(r"^ap_southeast_1 \{\n(.*?)^\}\n", tsk, re.M | re.S)
    assert block and 'cdn_url: "https://cdn-ap-southeast-1.example.com"' in block.group(1)
    assert tsk.index("ap_southeast_1 {") < tsk.index("[regional_settings]")
    assert 'replica_regions: ["us-west-2", "eu-west-1", "ap-southeast-1"]' in tsk

    # The placeholders are refused, at their line, until filled.
    stack_path = root / f"Pulumi.{NEW_REGION}.yaml"
    refused = run("check", "--all-stacks", cwd=root)
    assert refused.returncode == 1 and refused.stdout == ""
    first = refused.stderr.splitlines()[0]
    line = next(n for n, text in enumerate(stack_path.read_text().splitlines(), 1) if "\"<fill in" in text)
    assert first.startswith(f"Pulumi.{NEW_REGION}.yaml:{line}:7: tusk-infra:zones still holds a placeholder")
    assert "`pulumi config set --path 'tusk-infra:zones[0]' VALUE`" in first
    assert sorted(set(fill_placeholders(stack_path))) == sorted(FILLED)

    # What check then asks: a fourth region's writers overflow today's connection budget.
    over = run("check", "--all-stacks", cwd=root)
    assert over.returncode == 1, over.stderr
    assert "connection-budget" in over.stdout and "25000 connections" in over.stdout
    # The review says so too, loudly, and CI can fail on it.
    gate = run("diff", "--base", "HEAD", "--fail-on-violations", cwd=root)
    assert gate.returncode == 1
    assert gate.stderr == "tusk-infra diff: 1 new mandatory policy violation(s) (--fail-on-violations)\n"
    assert ("> [!CAUTION]\n> **1 new mandatory policy violation(s)** (`connection-budget`, in `us-east-1`)"
            in gate.stdout)
    replace_line(root / "global.tsk", r"^max_connections: \d+$", "max_connections: 25600")

    # The new region's own scaling: more Redis shards than the block it was copied from.
    tsk = (root / "global.tsk").read_text(encoding="utf-8")
    block_text = re.search(r"^ap_southeast_1 \{\n.*?^\}\n", tsk, re.M | re.S)
    assert block_text
    replace_line(root / "global.tsk", r"^    redis_shards: 2$", "    redis_shards: 3",
                 within=block_text.group(0))

    preview = run("preview", "--all-stacks", cwd=root)
    assert preview.returncode == 0, preview.stderr
    new_stack = preview.stdout[preview.stdout.index(f"stack {NEW_REGION}"):]
    assert "numNodeGroups: 3" in new_stack.split("\nstack ")[0]
    checked = run("check", "--all-stacks", cwd=root)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    diff = run("diff", "--base", "HEAD", cwd=root)
    assert diff.returncode == 0, diff.stderr
    created = rf"^\| `{NEW_REGION}` \(new stack\) \| [1-9]\d* \| 0 \| 0 \| 0 \| 0 \|$"
    assert re.search(created, diff.stdout, re.M), diff.stdout
    # The other stacks list only what their evaluation reads: not the new region's block.
    assert "regional_config.ap_southeast_1" not in diff.stdout
    assert "`database.max_connections`: `20480` → `25600`" in diff.stdout
    for value in SECRETS.values():
        assert value not in added.stdout + preview.stdout + checked.stdout + diff.stdout


def test_remove_a_region_and_what_destroy_would_delete(program_project: Path) -> None:
    tsk = program_project / "global.tsk"
    removed = run("region", "remove", "eu-west-1", cwd=program_project)
    assert removed.returncode == 0, removed.stderr
    assert not (program_project / "Pulumi.eu-west-1.yaml").exists()
    text = tsk.read_text(encoding="utf-8")
    assert "eu_west_1 {" not in text and 'replica_regions: ["us-west-2"]' in text
    out = removed.stdout
    assert out.startswith("Removed region eu-west-1:\n")
    listed = re.search(r"`pulumi destroy --stack eu-west-1` would delete these (\d+) resources:\n", out)
    assert listed and int(listed.group(1)) > 10
    assert "  - aws:rds/instance:Instance  postgres-eu-west-1-db\n" in out
    assert "pulumi:pulumi:StackReference" not in out  # read, not managed: destroy deletes nothing there
    assert "total 15000 (was 20000)" in out and "fits, with 5455 to spare." in out
    checked = run("check", "--all-stacks", cwd=program_project)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_add_then_remove_gives_back_the_files_as_they_were(program_project: Path) -> None:
    before = project_texts(program_project)
    assert run("region", "add", NEW_REGION, "--from", "us-west-2", cwd=program_project).returncode == 0
    assert "Copied from us_west_2" in (program_project / "global.tsk").read_text(encoding="utf-8")
    removed = run("region", "remove", NEW_REGION, cwd=program_project)
    assert removed.returncode == 0, removed.stderr
    # The stack never ran (its values are placeholders): said, not a traceback.
    assert "It cannot be run offline to list them (Pulumi.ap-southeast-1.yaml:" in removed.stdout
    after = project_texts(program_project)
    assert after == before


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (("add", "us-wst-2"),
         "tusk-infra region add: error: unknown AWS region 'us-wst-2'; did you mean us-west-2 or us-west-1?"),
        (("add", "us-west-2"),
         "tusk-infra region add: error: region us-west-2 is already in the project: "
         "Pulumi.us-west-2.yaml exists"),
        (("add", NEW_REGION, "--from", "us-west-3"),
         "tusk-infra region add: error: --from us-west-3: no stack 'us-west-3' (no Pulumi.us-west-3.yaml "
         "in .); the stacks are: us-east-1, eu-west-1, us-west-2"),
        (("remove", "us-east-1"),
         "tusk-infra region remove: error: region us-east-1 holds the database primary "
         "(database.primary_region); move the primary to another region first"),
        (("remove", NEW_REGION),
         f"tusk-infra region remove: error: no stack '{NEW_REGION}' (no Pulumi.{NEW_REGION}.yaml in .); "
         "the stacks are: us-east-1, eu-west-1, us-west-2"),
    ],
    ids=["unknown-region", "already-present", "unknown-from", "primary", "remove-unknown"],
)
def test_usage_errors(program_project: Path, args: tuple[str, ...], first_line: str) -> None:
    before = project_texts(program_project)
    result = run("region", *args, cwd=program_project)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [first_line]
    assert project_texts(program_project) == before


def test_a_region_global_tsk_already_names_is_not_added_twice(program_project: Path) -> None:
    (program_project / "Pulumi.eu-west-1.yaml").rename(program_project / "eu-west-1.yaml.bak")
    result = run("region", "add", "eu-west-1", cwd=program_project)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("tusk-infra region add: error: region eu-west-1 is already in global.tsk: "
                             "[regional_config] has a block eu_west_1; database.replica_regions lists it\n")


def test_a_new_region_keeps_the_on_call_e_mail_but_asks_for_its_own_incident_endpoint(tmp_path: Path) -> None:
    root = repository_copy(tmp_path)
    assert run("region", "add", NEW_REGION, "--from", "us-west-2", cwd=root).returncode == 0
    text = (root / f"Pulumi.{NEW_REGION}.yaml").read_text(encoding="utf-8")
    subscriptions = text.split("tusk-infra:alarmSubscriptions:\n", 1)[1].split("\n  tusk-infra:", 1)[0]
    assert "endpoint: oncall@example.com" in subscriptions and "protocol: https" in subscriptions
    assert "tusk-usw2" not in subscriptions  # us-west-2's incident service is not paged for the new region
    assert (f'endpoint: "<fill in: tusk-infra:alarmSubscriptions item 2 of {NEW_REGION} (its https endpoint; '
            "us-west-2's pages us-west-2's service)>\"") in subscriptions
