"""The monitoring files are generated from the products' declarations, and the tools that consume
them accept them: promtool checks the rules and runs their unit tests (each burn-rate alert fires
on a bad hour and resolves after it), amtool checks Alertmanager's routes, and every dashboard
query names a metric the services export or a rule records."""

import json
import logging
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import dataplatform.platform.audit
import dataplatform.platform.collector
import dataplatform.platform.gateway
import dataplatform.platform.metrics_server  # noqa: F401  (their metrics register on import)
from dataplatform.core.logging import configure_logging, log_context
from dataplatform.core.product import discover_products
from dataplatform.platform.generated_files import stale_files
from dataplatform.platform.observability import (
    Targets,
    burn_policy,
    generate,
    prometheus_config,
)
from dataplatform.testing import installed

MONITORING = Path(__file__).parents[4] / "infrastructure" / "monitoring"
PRODUCTS = discover_products()


def run(*command: str, cwd: Path = MONITORING) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_committed_files_are_what_the_declarations_generate() -> None:
    assert stale_files(MONITORING, generate(PRODUCTS)) == [], "run `dataplatform infra generate`"


def test_each_alert_follows_its_slos_target_and_the_burn_policy() -> None:
    policy = burn_policy(PRODUCTS)
    files = generate(PRODUCTS)
    for product in PRODUCTS:
        rules = yaml.safe_load(files[f"prometheus/rules/{product.name}.rules.yml"])
        alerts = rules["groups"][1]["rules"]
        slos = product.settings("prod").slos
        assert len(alerts) == 2 * len(slos)
        for slo in slos:
            fast = next(
                a for a in alerts if a["alert"] == "SLOFastBurn" and a["labels"]["slo"] == slo.name
            )
            over = f"> ({policy.fast_burn_rate:g} * {1 - slo.target:.6g})"
            assert fast["expr"].count(over) == 2, fast["expr"]
            assert fast["labels"]["team"] == product.owner
    # 99.9% available: a fast burn is 14.4 x the 0.1% budget over the hour and over 5 minutes.
    web = yaml.safe_load(files["prometheus/rules/web-user-analytics.rules.yml"])
    assert web["groups"][1]["rules"][4]["expr"] == (
        'dataplatform:slo_errors:ratio_rate60m{product="web-user-analytics",slo="availability"} '
        '> (14.4 * 0.001) and dataplatform:slo_errors:ratio_rate5m{product="web-user-analytics",'
        'slo="availability"} > (14.4 * 0.001)'
    )


def test_promtool_accepts_every_rule_file() -> None:
    files = sorted(
        str(p.relative_to(MONITORING)) for p in MONITORING.glob("prometheus/rules/*.yml")
    )
    assert len(files) == len(PRODUCTS)
    output = run(installed("promtool"), "check", "rules", *files)
    assert output.count("SUCCESS") == len(PRODUCTS), output


def test_promtool_unit_tests_fire_and_resolve_every_burn_rate_alert() -> None:
    tests = sorted(p.name for p in MONITORING.glob("prometheus/tests/*.test.yml"))
    assert len(tests) == len(PRODUCTS)
    output = run(
        installed("promtool"), "test", "rules", *tests, cwd=MONITORING / "prometheus/tests"
    )
    assert output.count("SUCCESS") == len(PRODUCTS), output


def test_promtool_refuses_a_rule_whose_alert_would_not_fire(tmp_path: Path) -> None:
    """The unit tests can fail: with the fast alert's rate raised past any ratio, they do."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for kind in ("rules/web-user-analytics.rules.yml", "tests/web-user-analytics.test.yml"):
        text = (MONITORING / "prometheus" / kind).read_text()
        (tmp_path / kind).write_text(text.replace("> (14.4 *", "> (1440 *"))
    done = subprocess.run(
        [installed("promtool"), "test", "rules", "web-user-analytics.test.yml"],
        cwd=tmp_path / "tests",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "SLOFastBurn" in done.stdout + done.stderr


def test_promtool_accepts_the_scrape_config(tmp_path: Path) -> None:
    credential = tmp_path / "metrics-token"
    credential.write_text("dp_example\n")
    targets = Targets(
        gateway="gateway:8000",
        runners={p.name: f"{p.name}-models:9100" for p in PRODUCTS},
        alertmanager="alertmanager:9093",
        credential_file=str(credential),
        webhook_base="http://alert-receiver:9095/teams",
        rule_files=[str(MONITORING / "prometheus/rules/*.rules.yml")],
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(PRODUCTS, targets)))
    output = run(installed("promtool"), "check", "config", str(config))
    assert "SUCCESS" in output, output


def test_amtool_accepts_the_alertmanager_routes() -> None:
    output = run(installed("amtool"), "check-config", "alertmanager/alertmanager.yml")
    assert "SUCCESS" in output, output
    config = yaml.safe_load((MONITORING / "alertmanager/alertmanager.yml").read_text())
    teams = {route["receiver"] for route in config["route"]["routes"]}
    assert teams == {product.owner for product in PRODUCTS}


def exported_metrics() -> set[str]:
    """Every series name the services' registered metrics can expose."""
    names = set()
    for family in REGISTRY.collect():
        suffixes = {
            "counter": ["_total"],
            "histogram": ["_bucket", "_count", "_sum"],
            "gauge": [""],
        }.get(family.type, [""])
        names.update(family.name + suffix for suffix in suffixes)
    return names


def recorded_metrics() -> set[str]:
    return {
        rule["record"]
        for path in MONITORING.glob("prometheus/rules/*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def test_every_dashboard_query_names_a_metric_the_services_export(tmp_path: Path) -> None:
    known = exported_metrics() | recorded_metrics()
    dashboards = sorted(MONITORING.glob("grafana/dashboards/*.json"))
    assert {p.stem for p in dashboards} == {p.name for p in PRODUCTS} | {"platform"}
    queries = [
        target["expr"]
        for path in dashboards
        for panel in json.loads(path.read_text())["panels"]
        for target in panel["targets"]
    ]
    for query in queries:
        named = set(re.findall(r"\bdataplatform[_:][A-Za-z0-9_:]*", query))
        assert named, f"no platform metric in {query}"
        assert named <= known, f"{query} names {named - known}, which nothing exports"
    # And every query parses: promtool checks them as recording rules.
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": q} for i, q in enumerate(queries)
                ],
            }
        ]
    }
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    assert "SUCCESS" in run(installed("promtool"), "check", "rules", str(tmp_path / "queries.yml"))


@pytest.mark.parametrize(
    "metric", ["dataplatform_model_runs_total", "dataplatform_http_requests_total"]
)
def test_the_metrics_the_rules_read_are_exported(metric: str) -> None:
    assert metric in exported_metrics()


def test_the_log_shipping_config_reads_the_fields_the_services_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Fluent Bit's parser and labels name fields a JSON log line really has, and its time
    format reads the line's time."""
    config = yaml.safe_load((MONITORING / "logging/fluent-bit.yaml").read_text())
    (parser,) = config["parsers"]
    configure_logging("INFO", "json")
    with log_context(request_id="req-1"):
        logging.getLogger("dataplatform.access").info(
            "GET /web/overview 200", extra={"status": 200}
        )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert {parser["time_key"], "level", "request_id", "status"} <= set(line)
    strptime = parser["time_format"].replace("%L", "%f")
    assert datetime.strptime(line[parser["time_key"]], strptime).tzinfo is not None
    labels = config["pipeline"]["outputs"][0]["labels"]
    assert "level=$level" in labels and "dataplatform.io/team" in labels


def test_every_alert_links_to_its_section_of_the_runbook() -> None:
    runbook = (MONITORING.parents[1] / "docs" / "runbook.md").read_text()
    sections = {line[3:].strip().lower() for line in runbook.splitlines() if line.startswith("## ")}
    for path in MONITORING.glob("prometheus/rules/*.yml"):
        for rule in yaml.safe_load(path.read_text())["groups"][1]["rules"]:
            anchor = rule["annotations"]["runbook_url"].split("#")[1]
            assert anchor in sections, f"{rule['alert']}: no section `{anchor}` in docs/runbook.md"
