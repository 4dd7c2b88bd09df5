"""`tusk-infra diff` on a temporary git repository holding a copy of the project, one scenario
per commit: worker_count changed, a region added, a resource deleted (in component code), a secret changed,
nothing changed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, copy_project, project_files
from test_preview_cli import offline_env, tusk_infra

SECRET_NAME = "REDIS_CLUSTER_PASSWORD"
OLD_SECRET, NEW_SECRET = "CANARY-3c1e-old-redis-token", "CANARY-3c1e-new-redis-token"
WORKERS_BEFORE = 'worker_count: @if(@metrics("cpu_usage", 0) > 80, 16, 8)'
WORKERS_AFTER = 'worker_count: @if(@metrics("cpu_usage", 0) > 80, 24, 8)'
NEW_REGION = "ap-southeast-1"
# The PodDisruptionBudget: nothing else reads it (the Service's load balancer feeds global traffic).
PDB_LINE = "        self._disruption_budget(child)\n"
# Scenario name -> (base tag, head tag or None for the working tree).
SCENARIOS = {
    "workers": ("base", "workers"),
    "region": ("workers", "region"),
    "deleted": ("region", "deleted"),
    "secret": ("deleted", "secret"),
    "nothing": ("secret", None),
}


@dataclass
class DiffRepo:
    root: Path
    scratch: Path  # TMPDIR of every diff run, to prove the worktrees are removed

    def env(self) -> dict[str, str]:
        secrets = {SECRET_NAME: OLD_SECRET, f"{SECRET_NAME}_NEXT": NEW_SECRET}
        return offline_env(TMPDIR=str(self.scratch), **secrets)

    def diff(self, *args: str) -> subprocess.CompletedProcess[str]:
        return tusk_infra("diff", *args, env=self.env(), cwd=self.root)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"scenario edit no longer applies: {old!r} not in {path.name}; update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def commit(root: Path, tag: str, change: Callable[[Path], None]) -> None:
    change(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", tag)
    git(root, "tag", tag)


def add_region(root: Path) -> None:
    """A new replica region: its stack file, its metric snapshot, its regional_config block, its place in
    replica_regions."""
    stack_file = (root / "Pulumi.us-west-2.yaml").read_text(encoding="utf-8")
    (root / f"Pulumi.{NEW_REGION}.yaml").write_text(
        stack_file.replace("us-west-2", NEW_REGION).replace("usw2", "apse1"), encoding="utf-8")
    snapshot = (root / "metrics" / "us-west-2.json").read_text(encoding="utf-8")
    (root / "metrics" / f"{NEW_REGION}.json").write_text(
        snapshot.replace("us-west-2", NEW_REGION).replace("usw2", "apse1"), encoding="utf-8")
    tsk = root / "global.tsk"
    block = re.search(r"^us_west_2 \{.*?^\}\n", tsk.read_text(encoding="utf-8"), re.S | re.M)
    assert block, "global.tsk has no us_west_2 block in regional_config; update this test"
    new_block = block.group(0).replace("us_west_2", "ap_southeast_1").replace("us-west-2", NEW_REGION)
    edit(tsk, block.group(0), block.group(0) + "\n" + new_block)
    edit(tsk, 'replica_regions: ["us-west-2", "eu-west-1"]',
         f'replica_regions: ["us-west-2", "eu-west-1", "{NEW_REGION}"]')


def build_repo_files(root: Path) -> None:
    """A git repository at `root`, not yet committed: the repository's code (diff renders each revision
    with its own) around the fixture project; the live global.tsk and Pulumi.*.yaml are left out."""
    files = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    deployment = {str(path.relative_to(REPO)) for path in project_files(REPO)}
    for name in filter(None, files):
        source = REPO / name
        if source.is_file() and name not in deployment:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    copy_project(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "test")


def build_repo(root: Path) -> None:
    build_repo_files(root)
    commit(root, "base", lambda r: None)
    commit(root, "workers", lambda r: edit(r / "global.tsk", WORKERS_BEFORE, WORKERS_AFTER))
    commit(root, "region", add_region)
    commit(root, "deleted", lambda r: edit(r / "tusk_infra/components/app.py", PDB_LINE, ""))
    commit(root, "secret", lambda r: edit(r / "global.tsk", f'@env.secure("{SECRET_NAME}")',
                                          f'@env.secure("{SECRET_NAME}_NEXT")'))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> DiffRepo:
    root = tmp_path_factory.mktemp("diff-repo")
    scratch = tmp_path_factory.mktemp("diff-scratch")
    build_repo(root)
    return DiffRepo(root, scratch)


@dataclass
class Report:
    """One diff run: its process result (Markdown on stdout) and the JSON it wrote with --json-output."""

    result: subprocess.CompletedProcess[str]
    json_path: Path


Reports = dict[str, Report]


@pytest.fixture(scope="module")
def reports(repo: DiffRepo, tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """Every scenario's diff, Markdown and JSON from one run each."""
    outputs = tmp_path_factory.mktemp("diff-reports")

    def run(name: str) -> Report:
        base, head = SCENARIOS[name]
        head_args = ("--head", head) if head else ()
        json_path = outputs / f"{name}.json"
        return Report(repo.diff("--base", base, *head_args, "--json-output", str(json_path)), json_path)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(SCENARIOS, pool.map(run, SCENARIOS), strict=True))


def markdown(reports: Reports, name: str) -> str:
    result = reports[name].result
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def report(reports: Reports, name: str) -> dict[str, Any]:
    assert reports[name].result.returncode == 0, reports[name].result.stderr
    data: dict[str, Any] = json.loads(reports[name].json_path.read_text(encoding="utf-8"))
    return data


def stack_entry(data: dict[str, Any], stack: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(s for s in data["stacks"] if s["stack"] == stack)
    return entry


def test_worker_count_change_is_explained_by_its_source(reports: Reports,
                                                        repo: DiffRepo) -> None:
    lines = git(repo.root, "show", "workers:global.tsk").splitlines()
    line = next(number for number, text in enumerate(lines, start=1) if "worker_count:" in text)
    text = markdown(reports, "workers")
    source = WORKERS_AFTER.removeprefix("worker_count: ")
    assert f"- `performance.worker_count`: `16` → `24` (global.tsk:{line} `{source}`)" in text
    assert "`us-west-2` (no changes) | 0 | 0 | 0 | 0 |" in text
    assert "`eu-west-1` (no changes) | 0 | 0 | 0 | 0 |" in text
    data = report(reports, "workers")
    east = stack_entry(data, "us-east-1")
    assert east["status"] == "changed"
    assert [s["path"] for s in east["settings"]] == ["performance.worker_count"]
    assert east["settings"][0]["source"]["location"].startswith(f"global.tsk:{line}:")
    changes = [c for r in east["resources"] for c in r["changes"]]
    # The ConfigMap's data is immutable to the Kubernetes provider: a new count is a new ConfigMap.
    assert {"path": "data.WORKER_COUNT", "before": "16", "after": "24", "secret_changed": False,
            "forces_replacement": True} in changes
    assert east["counts"]["create"] == east["counts"]["delete"] == 0
    replaced = [r["type"] for r in east["resources"] if r["action"] == "replace"]
    assert replaced == ["kubernetes:core/v1:ConfigMap"]
    assert stack_entry(data, "us-west-2")["status"] == "unchanged"


def test_added_region_is_a_new_stack_of_creates(reports: Reports) -> None:
    data = report(reports, "region")
    added = stack_entry(data, NEW_REGION)
    assert added["status"] == "created"
    assert added["counts"]["create"] >= 10
    assert added["counts"]["update"] == added["counts"]["delete"] == added["counts"]["replace"] == 0
    assert all(r["action"] == "create" for r in added["resources"])
    east = stack_entry(data, "us-east-1")
    settings = [{k: v for k, v in s.items() if k != "source"} for s in east["settings"]]
    assert {"path": "database.replica_regions[2]", "after": NEW_REGION, "secret_changed": False,
            "forces_replacement": False} in settings
    text = markdown(reports, "region")
    assert f"| `{NEW_REGION}` (new stack) | {added['counts']['create']} | 0 | 0 | 0 |" in text
    assert f"### `{NEW_REGION}` (new stack)" in text


def test_deleted_resource_is_flagged_in_every_stack(reports: Reports) -> None:
    data = report(reports, "deleted")
    for stack in ("us-east-1", "us-west-2", "eu-west-1", NEW_REGION):
        entry = stack_entry(data, stack)
        assert entry["counts"]["delete"] == 1, stack
        deleted = next(r for r in entry["resources"] if r["action"] == "delete")
        assert deleted["type"] == "kubernetes:policy/v1:PodDisruptionBudget"
    text = markdown(reports, "deleted")
    assert "> [!CAUTION]\n> **4 resource(s) will be DELETED**" in text
    assert text.count("- ❌ **DELETE** `kubernetes:policy/v1:PodDisruptionBudget`") == 4


def test_changed_secret_is_reported_without_its_value(reports: Reports) -> None:
    text = markdown(reports, "secret")
    assert "- `distributed_cache.redis_cluster.password`: [secret] (changed)" in text
    assert "- `authToken`: [secret] (changed)" in text
    data = report(reports, "secret")
    group = next(r for r in stack_entry(data, "us-east-1")["resources"]
                 if r["type"] == "aws:elasticache/replicationGroup:ReplicationGroup")
    assert {"path": "authToken", "before": "[secret]", "after": "[secret]", "secret_changed": True,
            "forces_replacement": False} in group["changes"]
    for run in reports.values():
        for text in (run.result.stdout, run.result.stderr, run.json_path.read_text(encoding="utf-8")):
            assert OLD_SECRET not in text and NEW_SECRET not in text


def test_a_rotated_secret_rolls_the_deployment_in_every_stack(reports: Reports) -> None:
    # The Secret is immutable and auto-named: a new value is a new object, and the Deployment that reads its
    # name restarts its pods. Neither value appears anywhere (checked above, for every report).
    text = markdown(reports, "secret")
    data = report(reports, "secret")
    for stack in ("us-east-1", "us-west-2", "eu-west-1", NEW_REGION):
        resources = stack_entry(data, stack)["resources"]
        secret = next(r for r in resources if r["name"] == f"app-{stack}-redis-secrets")
        assert (secret["action"], secret["replace_reasons"]) == ("replace", ["stringData"])
        assert {"path": "stringData", "before": "[secret]", "after": "[secret]", "secret_changed": True,
                "forces_replacement": True} in secret["changes"]
        deployment = next(r for r in resources if r["type"] == "kubernetes:apps/v1:Deployment")
        assert (deployment["action"], deployment["rollout"]) == ("update", True), stack
        assert deployment["reads_replaced"] == [f"app-{stack}-redis-secrets"]
        assert (f"`app-{stack}-deployment` — **rollout**: the pods restart, reading the new "
                f"`app-{stack}-redis-secrets`") in text
    # The database Secret did not change: it is neither replaced nor read as new.
    assert "db-secrets` —" not in text


def test_a_new_ciphertext_in_a_stack_file_is_a_rollout_without_a_value(tmp_path: Path) -> None:
    # Offline the secret cannot be decrypted; a new `secure:` ciphertext is enough to know it rotated.
    root, scratch = tmp_path / "repo", tmp_path / "scratch"
    root.mkdir()
    scratch.mkdir()
    build_repo(root)
    stack_file = root / "Pulumi.us-west-2.yaml"
    old, new = "v1:CANARY-cipher-old-Zm9v", "v1:CANARY-cipher-new-YmFy"
    commit(root, "encrypted", lambda r: stack_file.write_text(
        stack_file.read_text() + f"  tusk-infra:DB_PRIMARY_PASSWORD:\n    secure: {old}\n"))
    edit(stack_file, old, new)
    json_path = tmp_path / "diff.json"
    result = DiffRepo(root, scratch).diff("--base", "HEAD", "--json-output", str(json_path))
    assert result.returncode == 0, result.stderr
    data = json.loads(json_path.read_text(encoding="utf-8"))
    west = stack_entry(data, "us-west-2")
    secret = next(r for r in west["resources"] if r["name"] == "app-us-west-2-db-secrets")
    assert secret["action"] == "replace"
    deployment = next(r for r in west["resources"] if r["type"] == "kubernetes:apps/v1:Deployment")
    assert deployment["rollout"] is True and deployment["reads_replaced"] == ["app-us-west-2-db-secrets"]
    assert stack_entry(data, "us-east-1")["status"] == "unchanged"
    for text in (result.stdout, result.stderr, json_path.read_text(encoding="utf-8")):
        assert "CANARY" not in text


def test_nothing_changed_says_so(reports: Reports) -> None:
    text = markdown(reports, "nothing")
    assert "**No changes.** Every stack renders the same at both revisions" in text
    assert "→ `working tree`" in text
    data = report(reports, "nothing")
    assert data["changed"] is False
    assert {s["status"] for s in data["stacks"]} == {"unchanged"}
    assert len(data["stacks"]) == 4


def test_worktrees_are_removed(reports: Reports, repo: DiffRepo) -> None:
    assert reports  # every diff above has run
    assert git(repo.root, "worktree", "list").count("\n") == 1
    assert list(repo.scratch.iterdir()) == []


def test_bad_revision_is_a_clear_error(repo: DiffRepo) -> None:
    result = repo.diff("--base", "no-such-branch")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("tusk-infra diff: --base 'no-such-branch' is not a commit")


def test_missing_base_is_a_usage_error(repo: DiffRepo) -> None:
    result = repo.diff()
    assert result.returncode == 2 and "--base" in result.stderr


def test_broken_head_fails_with_its_location_and_cleans_up(reports: Reports,
                                                           repo: DiffRepo) -> None:
    tsk = repo.root / "global.tsk"
    original = tsk.read_text(encoding="utf-8")
    tsk.write_text(original + "\n[broken]\nvalue: @nosuchop(1)\n", encoding="utf-8")
    try:
        result = repo.diff("--base", "base")
    finally:
        tsk.write_text(original, encoding="utf-8")
    assert result.returncode == 1 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert re.match(r"^\S*global\.tsk:\d+:\d+: .*nosuchop", first), first
    assert "(while rendering working tree)" in result.stderr
    assert git(repo.root, "worktree", "list").count("\n") == 1
    assert list(repo.scratch.iterdir()) == []


def test_a_plain_text_secret_is_a_warning_not_a_value_unavailable_offline(tmp_path: Path) -> None:
    # The "Not available offline" box used to list "stored in plain text" with the placeholder secrets.
    root, scratch = tmp_path / "repo", tmp_path / "scratch"
    root.mkdir()
    scratch.mkdir()
    build_repo(root)
    stack_file = root / "Pulumi.us-west-2.yaml"
    stack_file.write_text(stack_file.read_text() + "  tusk-infra:DB_PRIMARY_PASSWORD: plain-CANARY-77a1\n")
    json_path = tmp_path / "diff.json"
    result = DiffRepo(root, scratch).diff("--base", "HEAD", "--json-output", str(json_path))
    assert result.returncode == 0, result.stderr
    warning = ("us-west-2: tusk-infra:DB_PRIMARY_PASSWORD is stored in plain text; set it with "
               "`pulumi config set --secret tusk-infra:DB_PRIMARY_PASSWORD ...`")
    # The other warnings say each stack's committed metric snapshot is an example.
    assert "> [!WARNING]\n> Rendering `working tree` warned:\n" in result.stdout
    assert f"> - {warning}\n" in result.stdout
    offline_box = result.stdout[result.stdout.index("<details><summary>Not available offline"):]
    assert "plain text" not in offline_box and "a placeholder secret stands in for it offline" in offline_box
    data = json.loads(json_path.read_text(encoding="utf-8"))
    examples = [w for w in data["warnings"] if ".json is an example snapshot: made-up numbers" in w]
    assert [w for w in data["warnings"] if w not in examples] == [warning] and len(examples) == 4
    assert not any("plain text" in notice for notice in data["notices"])
    assert "plain-CANARY-77a1" not in result.stdout + result.stderr + json_path.read_text(encoding="utf-8")


def test_outside_a_git_repository_is_a_clear_error(tmp_path: Path) -> None:
    result = tusk_infra("diff", "--base", "main", "--project-dir", str(tmp_path), env=offline_env())
    assert result.returncode == 1 and result.stdout == ""
    assert "is not inside a git repository" in result.stderr


def test_revision_without_its_own_code_is_refused(tmp_path: Path) -> None:
    # Rendering it would silently use whichever tusk_infra is installed: the wrong code.
    root, scratch = tmp_path / "repo", tmp_path / "scratch"
    root.mkdir()
    scratch.mkdir()
    (root / "Pulumi.yaml").write_text("name: tusk-infra\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "config only")
    result = tusk_infra("diff", "--base", "HEAD", env=offline_env(TMPDIR=str(scratch)), cwd=root)
    assert result.returncode == 1 and result.stdout == ""
    assert "has no tusk_infra package" in result.stderr
    assert "cannot be rendered with its own code" in result.stderr
    assert list(scratch.iterdir()) == []


def working_tree_diff(tmp_path: Path, change: Callable[[Path], None]) -> tuple[str, dict[str, Any]]:
    """The Markdown and JSON of `diff --base HEAD` after `change` to a fresh copy of the project."""
    root, scratch = tmp_path / "repo", tmp_path / "scratch"
    root.mkdir()
    scratch.mkdir()
    build_repo(root)
    change(root)
    json_path = tmp_path / "diff.json"
    result = DiffRepo(root, scratch).diff("--base", "HEAD", "--json-output", str(json_path))
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8"))
    return result.stdout, data


def resource_entry(data: dict[str, Any], stack: str, type_: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(r for r in stack_entry(data, stack)["resources"] if r["type"] == type_)
    return entry


def test_a_new_vpc_replaces_the_security_group(tmp_path: Path) -> None:
    # The new-user report: a changed vpcId read as an update; AWS cannot move a group to another VPC.
    text, data = working_tree_diff(tmp_path, lambda r: edit(
        r / "Pulumi.us-west-2.yaml", "vpcId: vpc-0b225e0c9d2f4a1b7", "vpcId: vpc-0feedface0000001"))
    group = resource_entry(data, "us-west-2", "aws:ec2/securityGroup:SecurityGroup")
    assert group["action"] == "replace" and group["replace_reasons"] == ["vpcId"]
    assert ("`vpcId`: `\"vpc-0b225e0c9d2f4a1b7\"` → `\"vpc-0feedface0000001\"` **(forces replacement)**"
            in text)


def test_a_new_postgres_major_version_replaces_the_parameter_group_and_warns(tmp_path: Path) -> None:
    # The new-user report: engine_version "17" read as updates; the parameter group's family and name force
    # a new one, and AWS refuses the instance's major upgrade without allowMajorVersionUpgrade.
    text, data = working_tree_diff(tmp_path, lambda r: edit(r / "global.tsk", 'engine_version: "16"',
                                                            'engine_version: "17"'))
    group = resource_entry(data, "us-east-1", "aws:rds/parameterGroup:ParameterGroup")
    assert group["action"] == "replace" and group["replace_reasons"] == ["family", "name"]
    instance = resource_entry(data, "us-east-1", "aws:rds/instance:Instance")
    version = next(c for c in instance["changes"] if c["path"] == "engineVersion")
    assert version["warning"].startswith("a major-version upgrade (16 → 17): AWS refuses it unless")
    # Every region's instance passes engineVersion in both roles (one resource per region, primary or
    # replica), so each replica's upgrade is flagged too.
    replicas = [stack["stack"] for stack in data["stacks"] if stack["stack"] != "us-east-1"]
    assert set(replicas) == {"us-west-2", "eu-west-1", NEW_REGION}
    for replica in replicas:
        changes = resource_entry(data, replica, "aws:rds/instance:Instance")["changes"]
        assert next(c for c in changes if c["path"] == "engineVersion")["warning"] == version["warning"]
    assert "> [!WARNING]\n> **4 change(s) will be refused by AWS as written**" in text


def test_a_removed_stack_file_is_reported_as_orphaned_not_deleted(tmp_path: Path) -> None:
    # The new-user report: `git rm Pulumi.eu-west-1.yaml` read "22 resource(s) will be DELETED"; removing
    # the file destroys nothing until someone runs `pulumi destroy` on the stack.
    text, data = working_tree_diff(tmp_path, lambda r: git(r, "rm", "-q", "Pulumi.eu-west-1.yaml"))
    removed = stack_entry(data, "eu-west-1")
    assert removed["status"] == "removed" and removed["resources"] == []
    assert set(removed["counts"].values()) == {0}
    count = len(removed["destroy_would_delete"])
    assert count >= 10
    assert "will be DELETED" not in text and "❌ **DELETE**" not in text
    assert ("> [!WARNING]\n> **Stack `eu-west-1` is removed from the repository** (no "
            f"`Pulumi.eu-west-1.yaml` at `working tree`). This change deletes none of its {count} resource(s)"
            ) in text
    assert f"`pulumi destroy --stack eu-west-1` would delete these {count} resource(s):" in text
