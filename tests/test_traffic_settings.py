"""[global_traffic] and per-region `serving` in global.tsk: typed, and each Route 53 rule an error positioned
at the value to change."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PROGRAM_SECRETS, PROJECT_DIR

from tusk_infra import route53_limits
from tusk_infra.settings import (
    RegionSettings,
    SettingsError,
    internet_facing_contradictions,
    settings_from_document,
)
from tusk_infra.tusk import Providers, evaluate_text

GLOBAL_TSK = (PROJECT_DIR / "global.tsk").read_text()


def settings_of(text: str, region: str = "us-west-2") -> RegionSettings:
    env = {"REGION": region, "ZONE": f"{region}a", **PROGRAM_SECRETS}
    document = evaluate_text(text, filename="global.tsk", providers=Providers(env=env))
    return settings_from_document(document, stack_region=region)


def replaced(old: str, new: str, text: str = GLOBAL_TSK) -> tuple[str, int]:
    """`text` with the one line equal to `old` (stripped) replaced by `new`; and that line's number."""
    lines = text.splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.strip() == old]
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = indent + new
    return "\n".join(lines) + "\n", index + 1


def error_of(text: str, region: str = "us-west-2") -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        settings_of(text, region)
    return caught.value


def test_the_shipped_traffic_settings() -> None:
    settings = settings_of(GLOBAL_TSK)
    traffic = settings.global_traffic
    assert traffic is not None
    assert (traffic.domain_name, traffic.hosted_zone, traffic.routing_policy) == (
        "app.example.com", "example.com", "latency")
    assert traffic.record == "alias" and traffic.record_ttl() is None  # an alias record has no TTL
    check = traffic.health_check
    shown = (check.protocol, check.resolved_port(), check.interval, check.failure_threshold)
    assert shown == ("HTTP", 80, 30, 3)
    assert check.regions == ["us-east-1", "us-west-2", "eu-west-1"] and check.measure_latency is True
    # No path in [global_traffic]: Route 53 checks the app's readiness path.
    assert check.path is None and settings.health_check_path() == settings.app.readiness.path == "/ready"
    assert settings.serving_regions == ["us-east-1", "us-west-2", "eu-west-1"]
    assert traffic.min_serving_regions == 2


def test_serving_defaults_to_true_and_false_drains() -> None:
    block = GLOBAL_TSK[GLOBAL_TSK.index("us_west_2 {"):]
    assert "    serving: true\n" in block
    text = GLOBAL_TSK.replace(block, block.replace("    serving: true\n", "    serving: false\n", 1), 1)
    assert settings_of(text).serving_regions == ["us-east-1", "eu-west-1"]
    assert settings_of(text).profile.serving is False
    without = GLOBAL_TSK.replace(block, block.replace("    serving: true\n", "", 1), 1)
    assert settings_of(without).profile.serving is True


def test_without_global_traffic_the_section_is_absent() -> None:
    text = GLOBAL_TSK[: GLOBAL_TSK.index("[global_traffic]")]
    assert settings_of(text).global_traffic is None


def test_an_interval_of_20_is_an_error_at_its_value() -> None:
    text, line = replaced("interval: 30                      # seconds: 30 (standard) or 10 (fast); a change "
                          "replaces the check", "interval: 20")
    error = error_of(text)
    assert (error.file, error.line, error.column) == ("global.tsk", line, 15)
    assert error.message == "global_traffic.health_check.interval: found the integer 20; expected 10 or 30"
    assert str(error).startswith(f"global.tsk:{line}:15: ")


def test_two_checker_regions_are_an_error_at_the_list() -> None:
    old = 'regions: ["us-east-1", "us-west-2", "eu-west-1"]    # Route 53 checker regions, at least 3'
    text, line = replaced(old, 'regions: ["us-east-1", "us-west-2"]')
    error = error_of(text)
    assert (error.line, error.column) == (line, 14)
    assert error.message == (
        "health_check.regions names 2 checker region(s); Route 53 needs at least 3 (of: "
        f"{', '.join(route53_limits.checker_regions())})"
    )


def test_route53_limits_come_from_botocore() -> None:
    regions = route53_limits.checker_regions()
    assert route53_limits.min_checker_regions() == 3
    assert {"us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1", "sa-east-1"} <= set(regions)
    assert "eu-central-1" not in regions  # no Route 53 health checkers there


def test_a_region_without_health_checkers_is_named_with_a_suggestion() -> None:
    old = 'regions: ["us-east-1", "us-west-2", "eu-west-1"]    # Route 53 checker regions, at least 3'
    text, line = replaced(old, 'regions: ["us-east-1", "us-west-2", "eu-central-1", "eu-wst-1"]')
    error = error_of(text)
    # At the first bad item.
    assert (error.line, error.column) == (line, text.splitlines()[line - 1].index('"eu-central-1"') + 1)
    assert error.message.startswith(
        "'eu-central-1' is not a Route 53 health checker region; expected some of:")
    text, _ = replaced(old, 'regions: ["us-east-1", "us-west-2", "eu-wst-1"]')
    assert "'eu-wst-1' is not a Route 53 health checker region (did you mean 'eu-west-1'?)" in error_of(
        text).message


@pytest.mark.parametrize(("old", "new", "column", "message"), [
    ("failure_threshold: 3              # failed checks in a row before the region counts as unhealthy",
     "failure_threshold: 11", 24,
     "global_traffic.health_check.failure_threshold: found the integer 11; expected a value of at most 10"),
    ('protocol: "HTTP"                  # the port is the protocol\'s own (HTTP 80, HTTPS 443) unless set',
     'protocol: "TCP"', 15,
     "global_traffic.health_check.protocol: found the string \"TCP\"; expected 'HTTP' or 'HTTPS'"),
    ('routing_policy: "latency"             # or "weighted", with weights { us_east_1: 50 ... } (0-255)',
     'routing_policy: "geo"', 17,
     "global_traffic.routing_policy: found the string \"geo\"; expected 'latency' or 'weighted'"),
    ('domain_name: "app.example.com"', 'domain_name: "app.example.org"', 14,
     "domain_name 'app.example.org' is not in hosted zone 'example.com'; expected 'example.com' or a name "
     "ending in '.example.com'"),
    ('domain_name: "app.example.com"', 'domain_name: "App.Example.com."', 14,
     'global_traffic.domain_name: found the string "App.Example.com."; expected a lowercase DNS name like '
     '"app.example.com" (no trailing dot)'),
    ("min_serving_regions: 2                # the min-serving-regions policy refuses a change leaving fewer",
     "min_serving_regions: 4", 22,
     "min_serving_regions (4) is above the 3 region(s) [regional_config] declares; no change could ever "
     "satisfy it"),
])
def test_traffic_values_are_checked_at_their_line(old: str, new: str, column: int, message: str) -> None:
    text, line = replaced(old, new)
    error = error_of(text)
    assert (error.line, error.column, error.message) == (line, column, message)


def test_an_alias_record_has_no_ttl() -> None:
    text, line = replaced('hosted_zone: "example.com"            # the public hosted zone: its name, or its '
                          'id ("Z...")', 'hosted_zone: "example.com"\nttl: 300')
    error = error_of(text)
    assert (error.line, error.column) == (line + 1, 6)
    assert error.message == (
        "found ttl: 300 with an alias record; alias records carry no TTL (Route 53 answers with the load "
        "balancer's own); remove ttl, or set record: \"cname\" to use one")
    cname = settings_of(text.replace("ttl: 300", 'ttl: 300\nrecord: "cname"'))
    assert cname.global_traffic is not None and cname.global_traffic.record_ttl() == 300


def test_latency_routing_takes_no_weights_and_weighted_needs_every_serving_region() -> None:
    policy = ('routing_policy: "latency"             # or "weighted", with weights { us_east_1: 50 ... } '
              "(0-255)")
    text, line = replaced(policy, 'routing_policy: "latency"\nweights { us_east_1: 50 }')
    error = error_of(text)
    assert error.line == line + 1
    assert "a latency record carries no other routing policy" in error.message
    text, line = replaced(policy, 'routing_policy: "weighted"\nweights { us_east_1: 50; us_west_2: 50 }')
    error = error_of(text)
    assert error.line == line + 1
    assert error.message == ('routing_policy "weighted" needs a weight (0-255) for every serving region; '
                             "missing: eu_west_1 (in global_traffic.weights)")
    weighted = settings_of(text.replace("us_west_2: 50 }", "us_west_2: 50; eu_west_1: 0 }"))
    assert weighted.global_traffic is not None and weighted.global_traffic.weights == {
        "us_east_1": 50, "us_west_2": 50, "eu_west_1": 0}
    text, line = replaced(policy, 'routing_policy: "weighted"\nweights { us_east_1: 256; us_west_2: 1; '
                                  "eu_west_1: 1 }")
    assert error_of(text).message == (
        "global_traffic.weights.us_east_1: found the integer 256; expected a value of at most 255")


def test_serving_must_be_a_boolean() -> None:
    block = GLOBAL_TSK[GLOBAL_TSK.index("eu_west_1 {"):]
    text = GLOBAL_TSK.replace(block, block.replace("    serving: true\n", '    serving: "no"\n', 1), 1)
    error = error_of(text)
    assert error.message == 'regional_config.eu_west_1.serving: found the string "no"; expected true or false'
    assert text.splitlines()[error.line - 1] == '    serving: "no"'


def test_an_unknown_traffic_key_names_the_known_ones() -> None:
    text, line = replaced("measure_latency: true", "measure_latncy: true")
    error = error_of(text)
    assert error.line == line
    assert "unknown key 'measure_latncy' (did you mean 'measure_latency'?); expected one of: path, protocol" \
        in error.message


def test_an_internal_load_balancer_in_a_serving_region_is_refused() -> None:
    settings = settings_of(GLOBAL_TSK)
    path = ("app", "load_balancer", "scheme")
    ((where, message),) = internet_facing_contradictions(settings, "internal", path)
    assert where == path
    assert message.startswith('the load balancer scheme is "internal" in us-west-2, a serving region')
    assert list(internet_facing_contradictions(settings, "internet-facing", path)) == []
    block = GLOBAL_TSK[GLOBAL_TSK.index("us_west_2 {"):]
    drained = settings_of(GLOBAL_TSK.replace(block, block.replace("serving: true", "serving: false", 1), 1))
    assert list(internet_facing_contradictions(drained, "internal", path)) == []


def test_preview_reports_a_bad_interval_at_its_line_without_a_traceback(program_project: Path) -> None:
    from test_preview_cli import offline_env, tusk_infra

    path = program_project / "global.tsk"
    text, line = replaced("interval: 30                      # seconds: 30 (standard) or 10 (fast); a change "
                          "replaces the check", "interval: 20", path.read_text())
    path.write_text(text)
    result = tusk_infra("preview", "--stack", "eu-west-1", "--project-dir", str(program_project),
                        env=offline_env(**PROGRAM_SECRETS))
    assert (result.returncode, result.stdout) == (1, "")
    first, *rest = result.stderr.splitlines()
    assert first == (f"{path}:{line}:15: global_traffic.health_check.interval: found the integer 20; "
                     "expected 10 or 30")
    assert "Traceback" not in result.stderr and "    interval: 20" in rest[1]


def test_a_weight_for_an_undeclared_region_is_an_error_at_its_key() -> None:
    policy = ('routing_policy: "latency"             # or "weighted", with weights { us_east_1: 50 ... } '
              "(0-255)")
    text, line = replaced(policy, 'routing_policy: "weighted"\nweights {\n    us_east_1: 1; us_west_2: 1; '
                                  "eu_west_1: 1\n    ap_south_1: 5\n}")
    error = error_of(text)
    assert (error.line, error.column) == (line + 3, 17)
    assert error.message == (
        "weight for 'ap_south_1', which [regional_config] does not declare; expected one of: us_east_1, "
        "us_west_2, eu_west_1")
