"""The chart's metrics Services, ServiceMonitors, PodMonitors, PrometheusRule and Grafana
dashboard, rendered by the real Helm engine with the values on and off.

Services and ConfigMaps pass the Kubernetes schemas (kubernetes-validate, strict). No pip
package ships the Prometheus operator's CRD schemas, so its objects are checked for
structure (the fields the chart writes, nothing unknown) and for what matters: their
selectors pick the pods the real operator builds (``piiq_operator.manifests``) by a port
those pods name. Every PromQL expression of the dashboard and of the alerts parses
(promql-parser) and names only metrics piiq's own registries export.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import kubernetes_validate
import promql_parser
import pytest
from prometheus_client import REGISTRY

from piiq.runtime import metrics as worker_metrics
from piiq_operator import manifests
from piiq_operator import metrics as operator_metrics  # noqa: F401 (registers its metrics)
from piiq_operator.sizing import plan_queue
from piiq_operator.spec import parse_spec
from tests.support.helm_chart import CHART, ROOT, by_kind, lint, pod_spec, render

KUBERNETES_VERSIONS = ("1.29", "1.32", "1.37")
PROMETHEUS_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")
DASHBOARD = CHART / "dashboards/piiq.json"
RATE_INTERVAL = "5m"  # what Grafana puts in place of $__rate_interval

EVERYTHING_ON: dict[str, Any] = {
    "monitoring": {
        "labels": {"release": "kube-prometheus-stack"},
        "interval": "15s",
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {
            "enabled": True,
            "backlogWaitSeconds": 120,
            "backlogAgeSeconds": 900,
            "rescuedJobs": 25,
        },
        "grafanaDashboard": {"enabled": True},
    }
}
POD_MONITORS: dict[str, Any] = {"monitoring": {"podMonitor": {"enabled": True}}}


def monitoring_objects(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [obj for obj in objs if obj["kind"] in PROMETHEUS_KINDS]


def named(objs: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    (found,) = [o for o in by_kind(objs, kind) if o["metadata"]["name"].endswith(suffix)]
    return found


# --- off and on ---------------------------------------------------------------------------


def test_defaults_render_the_metrics_services_and_nothing_of_the_prometheus_operator() -> None:
    objs = render()
    assert not monitoring_objects(objs)
    assert not by_kind(objs, "ConfigMap")
    services = sorted(o["metadata"]["name"] for o in by_kind(objs, "Service"))
    assert services == ["piiq-operator-metrics", "piiq-piiqueue-metrics"]


def test_service_off_renders_no_service() -> None:
    objs = render({"monitoring": {"service": {"enabled": False}}})
    assert not by_kind(objs, "Service")


@pytest.mark.parametrize("values", [EVERYTHING_ON, POD_MONITORS], ids=["service", "pod"])
def test_everything_on_lints_clean_and_kubernetes_objects_pass_strict_schemas(
    values: dict[str, Any],
) -> None:
    report = lint(values)
    assert report["errors"] == [] and report["messages"] == [], report
    objs = render(values)
    assert monitoring_objects(objs)
    for obj in objs:
        if obj["kind"] in PROMETHEUS_KINDS or obj["kind"] == "PIIQueue":
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


def test_everything_on_renders_every_new_object() -> None:
    objs = render(EVERYTHING_ON)
    kinds = sorted(o["kind"] for o in monitoring_objects(objs))
    assert kinds == ["PrometheusRule", "ServiceMonitor", "ServiceMonitor"]
    assert named(objs, "ConfigMap", "-dashboard")
    for obj in monitoring_objects(objs):
        assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert obj["metadata"]["namespace"] == "piiq"
    pods = render(POD_MONITORS)
    assert sorted(o["kind"] for o in monitoring_objects(pods)) == ["PodMonitor", "PodMonitor"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"monitoring": {"serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}}},
            "monitoring.serviceMonitor and monitoring.podMonitor both scrape the same pods",
        ),
        (
            {"monitoring": {"serviceMonitor": {"enabled": True}, "service": {"enabled": False}}},
            "monitoring.serviceMonitor.enabled needs monitoring.service.enabled: true",
        ),
    ],
)
def test_contradicting_values_fail_with_one_line_naming_them(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(Exception, match=re.escape(message)):
        render(values)


# --- the Prometheus operator's objects: structure ------------------------------------------

_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
_DURATION = {"type": "string", "pattern": "^[0-9]+(ms|s|m|h|d|w|y)$"}
_METADATA = {
    "type": "object",
    "required": ["name", "namespace", "labels"],
    "additionalProperties": False,
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": _LABELS},
}
_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": _LABELS,
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "additionalProperties": False,
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
_ENDPOINT = {
    "type": "object",
    "required": ["port", "path", "interval", "scrapeTimeout"],
    "additionalProperties": False,
    "properties": {
        "port": {"type": "string"},
        "path": {"type": "string", "pattern": "^/"},
        "interval": _DURATION,
        "scrapeTimeout": _DURATION,
        "relabelings": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "sourceLabels": {"type": "array", "items": {"type": "string"}},
                    "targetLabel": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"},
                    "regex": {"type": "string"},
                    "action": {"enum": ["replace", "keep", "drop", "labelmap"]},
                },
            },
        },
    },
}


def _monitor_schema(kind: str, endpoints: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": {
                "type": "object",
                "required": ["selector", endpoints],
                "additionalProperties": False,
                "properties": {
                    "selector": _SELECTOR,
                    "namespaceSelector": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "any": {"type": "boolean"},
                            "matchNames": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    endpoints: {"type": "array", "minItems": 1, "items": _ENDPOINT},
                },
            },
        },
    }


_RULE = {
    "type": "object",
    "required": ["alert", "expr", "labels", "annotations"],
    "additionalProperties": False,
    "properties": {
        "alert": {"type": "string", "pattern": "^Piiq[A-Za-z]+$"},
        "expr": {"type": "string"},
        "for": _DURATION,
        "labels": {
            "type": "object",
            "required": ["severity"],
            "properties": {"severity": {"enum": ["warning", "critical"]}},
        },
        "annotations": {
            "type": "object",
            "required": ["summary", "description"],
            "additionalProperties": {"type": "string"},
        },
    },
}
SCHEMAS = {
    "ServiceMonitor": _monitor_schema("ServiceMonitor", "endpoints"),
    "PodMonitor": _monitor_schema("PodMonitor", "podMetricsEndpoints"),
    "PrometheusRule": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "PrometheusRule"},
            "metadata": _METADATA,
            "spec": {
                "type": "object",
                "required": ["groups"],
                "additionalProperties": False,
                "properties": {
                    "groups": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "rules"],
                            "additionalProperties": False,
                            "properties": {
                                "name": {"type": "string"},
                                "rules": {"type": "array", "minItems": 1, "items": _RULE},
                            },
                        },
                    }
                },
            },
        },
    },
}


@pytest.mark.parametrize("values", [EVERYTHING_ON, POD_MONITORS], ids=["service", "pod"])
def test_prometheus_operator_objects_have_the_expected_structure(values: dict[str, Any]) -> None:
    for obj in monitoring_objects(render(values)):
        jsonschema.validate(obj, SCHEMAS[obj["kind"]])


def test_the_structure_check_would_catch_a_misspelt_field() -> None:
    monitor = named(render(EVERYTHING_ON), "ServiceMonitor", "-operator")
    monitor["spec"]["endpoints"][0]["scrapeInterval"] = "30s"
    with pytest.raises(jsonschema.ValidationError, match="scrapeInterval"):
        jsonschema.validate(monitor, SCHEMAS["ServiceMonitor"])


# --- the selectors pick the real pods by a port they name -----------------------------------

OWNER = manifests.Owner(name="pii-detector", namespace="team-a", uid="uid-1")


def operator_built_pods() -> dict[str, dict[str, Any]]:
    """component -> pod template (labels, spec) as the real operator builds them."""
    spec = parse_spec(
        OWNER.name,
        {
            "queues": {"events": 4},
            "image": "localhost/piiq:0.1.0",
            "database": {"secretRef": {"name": "piiq-db"}},
            "slack": {"secretRef": {"name": "piiq-slack"}},
        },
    )
    plan = plan_queue(spec, "events")
    worker = manifests.worker_deployment(spec, OWNER, plan, plan.replicas)
    ingress = manifests.ingress_deployment(spec, OWNER)
    cronjob = manifests.maintenance_cronjob(spec, OWNER)
    templates = {
        "worker": worker["spec"]["template"],
        "ingress": ingress["spec"]["template"],
        "maintenance": cronjob["spec"]["jobTemplate"]["spec"]["template"],
    }
    return {k: {"labels": t["metadata"]["labels"], "spec": t["spec"]} for k, t in templates.items()}


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions In/NotIn) against labels."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        value, values = labels.get(expression["key"]), expression.get("values", [])
        if expression["operator"] == "In" and value not in values:
            return False
        if expression["operator"] == "NotIn" and value in values:
            return False
    return True


def container_port(pod: dict[str, Any], name: str) -> int | None:
    for container in pod["spec"]["containers"]:
        for port in container.get("ports", []):
            if port["name"] == name:
                return int(port["containerPort"])
    return None


def test_piiqueue_metrics_service_selects_workers_and_ingress_by_their_metrics_port() -> None:
    service = named(render(), "Service", "-piiqueue-metrics")
    assert service["spec"]["clusterIP"] == "None"  # every pod scraped, not one behind a VIP
    (port,) = service["spec"]["ports"]
    pods = operator_built_pods()
    served = {
        c
        for c, pod in pods.items()
        if matches({"matchLabels": service["spec"]["selector"]}, pod["labels"])
    }
    assert served == {"worker", "ingress", "maintenance"}  # a Service selects by equality
    # ...and only pods naming the target port get an endpoint: maintenance has none.
    with_port = {c for c in served if container_port(pods[c], port["targetPort"]) is not None}
    assert with_port == {"worker", "ingress"}
    assert {container_port(pods[c], port["targetPort"]) for c in with_port} == {port["port"]}


def test_operator_metrics_service_reaches_the_operator_container_port() -> None:
    objs = render({"operator": {"metricsPort": 9191}})
    service = named(objs, "Service", "-operator-metrics")
    (deployment,) = by_kind(objs, "Deployment")
    template = deployment["spec"]["template"]
    assert matches({"matchLabels": service["spec"]["selector"]}, template["metadata"]["labels"])
    (port,) = service["spec"]["ports"]
    pod = {"spec": pod_spec(deployment)}
    assert port["port"] == container_port(pod, port["targetPort"]) == 9191
    assert "9191" in pod["spec"]["containers"][0]["args"]


def test_service_monitors_select_the_metrics_services_by_port_name() -> None:
    objs = render(EVERYTHING_ON)
    for suffix, service_suffix in (
        ("-operator", "-operator-metrics"),
        ("-piiqueues", "-piiqueue-metrics"),
    ):
        monitor = named(objs, "ServiceMonitor", suffix)
        service = named(objs, "Service", service_suffix)
        others = [s for s in by_kind(objs, "Service") if s is not service]
        assert matches(monitor["spec"]["selector"], service["metadata"]["labels"])
        assert not any(
            matches(monitor["spec"]["selector"], s["metadata"]["labels"]) for s in others
        )
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        assert endpoint["interval"] == "15s"


def test_pod_monitor_selects_workers_and_ingress_not_maintenance() -> None:
    objs = render(POD_MONITORS)
    monitor = named(objs, "PodMonitor", "-piiqueues")
    pods = operator_built_pods()
    selected = {c for c, pod in pods.items() if matches(monitor["spec"]["selector"], pod["labels"])}
    assert selected == {"worker", "ingress"}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert all(
        container_port(pods[c], endpoint["port"]) == manifests.METRICS_PORT for c in selected
    )
    relabel = {r["targetLabel"]: r["sourceLabels"] for r in endpoint["relabelings"]}
    assert relabel["piiqueue"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["piiq"]}  # as the operator
    operator = named(objs, "PodMonitor", "-operator")
    (deployment,) = by_kind(objs, "Deployment")
    assert matches(
        operator["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"]
    )
    assert not any(matches(operator["spec"]["selector"], pod["labels"]) for pod in pods.values())


@pytest.mark.parametrize(
    ("monitoring", "operator", "names"),
    [
        ({}, {"watchNamespaces": ["team-a", "team-b"]}, ["team-a", "team-b"]),
        ({}, {"clusterWide": True}, None),
        ({"namespaces": ["team-c"]}, {"watchNamespaces": ["team-a"]}, ["team-c"]),
    ],
)
def test_pod_monitor_namespaces(
    monitoring: dict[str, Any], operator: dict[str, Any], names: list[str] | None
) -> None:
    values = {"operator": operator, "monitoring": {"podMonitor": {"enabled": True, **monitoring}}}
    monitor = named(render(values), "PodMonitor", "-piiqueues")
    expected = {"matchNames": names} if names else {"any": True}
    assert monitor["spec"]["namespaceSelector"] == expected


# --- the dashboard ConfigMap ----------------------------------------------------------------


def test_dashboard_configmap_holds_the_dashboard_with_the_sidecar_label() -> None:
    configmap = named(render(EVERYTHING_ON), "ConfigMap", "-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["namespace"] == "piiq"
    assert configmap["data"]["piiq.json"] == DASHBOARD.read_text()
    assert json.loads(configmap["data"]["piiq.json"])["uid"] == "piiq"


def test_dashboard_labels_annotations_and_namespace_are_configurable() -> None:
    values = {
        "monitoring": {
            "grafanaDashboard": {
                "enabled": True,
                "namespace": "monitoring",
                "labels": {"grafana_dashboard": "piiq"},
                "annotations": {"grafana_folder": "piiq"},
            }
        }
    }
    configmap = named(render(values), "ConfigMap", "-dashboard")
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "piiq"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "piiq"}


def test_docs_hold_the_same_dashboard_as_the_chart() -> None:
    assert (ROOT / "docs/dashboard.json").read_text() == DASHBOARD.read_text()


# --- PromQL: parses, names only what piiq exports -------------------------------------------

SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


def exported_metric_names() -> set[str]:
    """Every series name a piiq process serves: the default registry (the worker's, the
    ingress's and the operator's metrics, and prometheus_client's process collector) plus
    the queue depth gauges, which only `piiq worker` registers (they read the database)."""
    depth = worker_metrics.QueueDepthCollector(worker_metrics.QueueTable)
    families = [*REGISTRY.collect(), *depth.describe()]
    return {f.name + suffix for f in families for suffix in SUFFIXES[f.type]}


def selectors(expr: str) -> list[Any]:
    """Every vector selector of ``expr`` (raises on a parse error)."""
    found: list[Any] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def metric_names(expr: str) -> set[str]:
    return {selector.name for selector in selectors(expr)}


def dashboard_exprs() -> Iterator[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"].replace("$__rate_interval", RATE_INTERVAL)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            (inner,) = re.fullmatch(r"label_values\((.*), \w+\)", variable["definition"]).groups()
            yield f"variable {variable['name']}", inner


def rule_exprs() -> Iterator[tuple[str, str]]:
    (rule,) = by_kind(render(EVERYTHING_ON), "PrometheusRule")
    for group in rule["spec"]["groups"]:
        for item in group["rules"]:
            yield item["alert"], item["expr"]


def test_exported_names_come_from_the_registries() -> None:
    names = exported_metric_names()
    assert {"piiq_jobs_total", "piiq_queue_jobs", "piiq_job_duration_seconds_bucket"} <= names
    assert {"piiq_operator_reconciles_total", "process_start_time_seconds"} <= names
    assert {"piiq_queue_oldest_available_seconds", "piiq_jobs_rescued_total"} <= names
    assert "piiq_jobs" not in names and "piiq_queue_jobs_total" not in names


def test_the_name_check_would_catch_a_metric_piiq_does_not_export() -> None:
    names = metric_names(
        'sum(rate(piiq_job_total{outcome="discarded"}[5m])) / on() piiq_jobs_total'
    )
    assert names == {"piiq_job_total", "piiq_jobs_total"}
    assert names - exported_metric_names() == {"piiq_job_total"}


def test_dashboard_loads_and_has_the_promised_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = " | ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in (
        "backlog",
        "wait",
        "outcome",
        "decisions",
        "slack api",
        "429",
        "ingress",
        "reconciles",
        "restarts",
        "oldest available",
        "rescued",
    ):
        assert topic in titles, topic
    shown = {name for _, expr in dashboard_exprs() for name in metric_names(expr)}
    assert {"piiq_queue_oldest_available_seconds", "piiq_jobs_rescued_total"} <= shown
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}"


@pytest.mark.parametrize(("where", "expr"), [*dashboard_exprs(), *rule_exprs()])
def test_every_expression_parses_and_names_only_exported_metrics(where: str, expr: str) -> None:
    names = metric_names(expr)  # raises on a parse error
    assert names, where
    unknown = names - exported_metric_names()
    assert not unknown, f"{where}: {unknown}"


def test_every_alert_has_a_parsable_for_and_the_configured_threshold() -> None:
    (rule,) = by_kind(render(EVERYTHING_ON), "PrometheusRule")
    alerts = {item["alert"]: item for group in rule["spec"]["groups"] for item in group["rules"]}
    assert {
        "PiiqBacklogWaitHigh",
        "PiiqBacklogAgeHigh",
        "PiiqJobsDiscarded",
        "PiiqIngressUnavailable",
        "PiiqRescueStorm",
        "PiiqWorkerRestartStorm",
    } <= alerts.keys()
    for item in alerts.values():
        if "for" in item:
            promql_parser.parse_duration(item["for"])
    assert alerts["PiiqBacklogWaitHigh"]["expr"].rstrip().endswith("> 120")
    age = alerts["PiiqBacklogAgeHigh"]["expr"]
    assert metric_names(age) == {"piiq_queue_oldest_available_seconds"}
    assert age.rstrip().endswith("> 900")
    storm = alerts["PiiqRescueStorm"]["expr"]
    assert metric_names(storm) == {"piiq_jobs_rescued_total"}
    assert storm.rstrip().endswith(">= 25")


def throughput_exprs() -> Iterator[tuple[str, str]]:
    """The expressions that read finished jobs as progress: the backlog alerts and the
    dashboard's wait panel."""
    alerts = dict(rule_exprs())
    yield from ((name, alerts[name]) for name in ("PiiqBacklogWaitHigh", "PiiqBacklogStalled"))
    yield from ((where, expr) for where, expr in dashboard_exprs() if "Backlog wait" in where)


def counts_unknown_worker(expr: str) -> bool:
    """True when a piiq_jobs_total selector of ``expr`` lets outcome="unknown_worker" in."""
    excluded = ("outcome", "MatchOp.NotEqual", "unknown_worker")
    return any(
        excluded not in {(m.name, str(m.op), m.value) for m in s.matchers.matchers}
        for s in selectors(expr)
        if s.name == "piiq_jobs_total"
    )


@pytest.mark.parametrize(("where", "expr"), list(throughput_exprs()))
def test_unknown_worker_snoozes_do_not_count_as_progress(where: str, expr: str) -> None:
    """Jobs whose worker no process can import are snoozed over and over (outcome
    unknown_worker): counted as finished, a queue stuck on them would never alert."""
    assert "piiq_jobs_total" in metric_names(expr), where
    assert not counts_unknown_worker(expr), where


def test_the_progress_check_would_catch_unknown_worker_counted() -> None:
    assert counts_unknown_worker('sum(rate(piiq_jobs_total{outcome!="snoozed"}[5m]))')
    assert counts_unknown_worker(
        'rate(piiq_jobs_total{outcome!="unknown_worker"}[5m]) / rate(piiq_jobs_total[5m])'
    )
    assert not counts_unknown_worker('rate(piiq_jobs_total{outcome!="unknown_worker"}[5m])')
