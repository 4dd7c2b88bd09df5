"""Secret canary: every secret input set to a unique marker; preview, diff and check in every format must
never show one, in any form, on stdout, stderr or in a file they write."""

from __future__ import annotations

import base64
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_diff_git import SECRET_NAME, build_repo
from test_preview_cli import offline_env, secret_names, tusk_infra, tusk_infra_in_process

from tusk_infra.render.revisions import DIGEST_KEY_VARIABLE


def markers() -> dict[str, str]:
    """One unique marker per secret global.tsk reads, plus the rotated one the diff scenario switches to."""
    names = [*secret_names(), f"{SECRET_NAME}_NEXT"]
    return {name: f"CANARY-{secrets.token_hex(8)}-{name}" for name in names}


def leaked_forms(marker: str) -> list[str]:
    """The marker as it could leak: plain, base64 (Kubernetes Secret data), hex."""
    raw = marker.encode()
    return [marker, base64.b64encode(raw).decode(), raw.hex()]


@pytest.fixture(scope="module")
def canary_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("canary-repo")
    build_repo(root)
    return root


def test_no_secret_marker_reaches_any_output(canary_repo: Path, tmp_path: Path) -> None:
    values = markers()
    env = offline_env(TMPDIR=str(tmp_path), **values)
    written = tmp_path / "written"
    written.mkdir()
    project = ("--project-dir", str(canary_repo))
    # Rendered in this process (one pulumi import for all of them); the diffs start their own processes.
    in_process = [
        ("preview", "--all-stacks", *project),
        ("preview", "--all-stacks", "--format", "json", *project),
        ("check", "--all-stacks", *project),
        ("check", "--all-stacks", "--format", "json", *project),
        ("check", "--all-stacks", "--format", "sarif", *project),
    ]
    diffs = [
        ("diff", "--base", "deleted", "--head", "secret", "--output", str(written / "diff.md"),
         "--json-output", str(written / "diff.json")),
        ("diff", "--base", "deleted", "--head", "secret", "--format", "json"),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        diff_results = pool.map(lambda args: tusk_infra(*args, env=env, cwd=canary_repo), diffs)
        results = [tusk_infra_in_process(*args, env=env) for args in in_process]
        # What a diff's render process hands back (secret digests included) must not hold a marker either.
        digest_env = {**env, DIGEST_KEY_VARIABLE: secrets.token_hex(32)}
        results.append(tusk_infra_in_process("preview", "--all-stacks", "--format", "json", *project,
                                             env=digest_env))
        results.extend(diff_results)
    commands = [*in_process, ("preview (digests)",), *diffs]
    for args, result in zip(commands, results, strict=True):
        # `check` exits 1 on a mandatory violation; everything else must succeed and print.
        assert result.returncode in ((0, 1) if args[0] == "check" else (0,)), (args, result.stderr)
        assert result.stdout or "--output" in args, args
    assert "[secret] (changed)" in (written / "diff.md").read_text(encoding="utf-8")
    texts = [r.stdout for r in results] + [r.stderr for r in results]
    texts += [path.read_text(encoding="utf-8") for path in written.iterdir()]
    texts += [path.read_text(encoding="utf-8", errors="replace") for path in canary_repo.rglob("*")
              if path.is_file() and ".git" not in path.parts]
    for name, marker in values.items():
        for form in leaked_forms(marker):
            assert not any(form in text for text in texts), f"secret {name} leaked ({form[:12]}...)"
