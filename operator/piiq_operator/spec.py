"""Parse and validate a PIIQueue spec into frozen dataclasses.

The CRD (charts/piiq/crds/, shipped in this package: ``crd.py``) is the one source of the
spec's shape and defaults: ``schema.py`` checks a spec against its openAPIV3Schema and
applies its defaults, as the API server does. The operator checks again because the
emulator, an older CRD or ``kubectl apply --validate=false`` let anything through, and a
person needs one message naming the value and the fix (the PIIQueue's Degraded condition).

What stays here is what the schema cannot say:

- checks that span several fields or objects: Deployment names from the PIIQueue's and the
  queues' names, queues that would share one, autoscaling bounds against a queue's
  concurrency and queues of ``spec.queues``, cron entries' queues and their scaling, a
  ConfigMap key used twice, defaults computed from other fields (maxReplicas,
  targetBacklogPerPod per queue);
- what the CRD says with CEL rules (``x-kubernetes-validations``): every one is checked
  here too, since the emulator runs none and API servers before 1.25 ignore them;
- what structural schemas cannot express: map keys (queue names, label and annotation
  keys), durations of at least a minute, quantities, cron expressions' field values, and
  why an env variable is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.utils import parse_quantity

from piiq.queue import CronEntry, CronError, parse_duration

from . import crd
from .schema import Checker, Hint, Hints, at, filled

QUEUE_NAME = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$")
OBJECT_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
# Labels the operator sets on pods (selectors among them): podLabels may not use these.
OPERATOR_LABEL_PREFIXES = ("app.kubernetes.io/", "piiq.dev/")
MAX_NAME = 40  # "<name>-maintenance" must fit a CronJob name (52 characters)
MAX_OBJECT_NAME = 63
MIN_MAINTENANCE_AGE = 60.0  # seconds: pruner.maxAge and lifeline.rescueAfter
RESOURCES = ("spec.resources", "spec.maintenance.resources", "spec.ingress.resources")

# Set by the operator from the spec, the operator's own settings or the pod.
RESERVED_ENV = {
    "PIIQ_DATABASE_URL": "spec.database.secretRef",
    "PIIQ_SLACK_BOT_TOKEN": "spec.slack.secretRef",
    "PIIQ_SLACK_ADMIN_TOKEN": "spec.slack.secretRef",
    "PIIQ_SLACK_SIGNING_SECRET": "spec.slack.secretRef",
    "PIIQ_SLACK_APP_TOKEN": "spec.slack.secretRef",
    "PIIQ_SLACK_CLIENT_ID": "spec.slack.oauth.secretRef",
    "PIIQ_SLACK_CLIENT_SECRET": "spec.slack.oauth.secretRef",
    "PIIQ_SLACK_TOKEN_KEYS": "spec.slack.oauth.secretRef",
    "PIIQ_SLACK_REDIRECT_URI": "spec.slack.oauth.redirectUri",
    "PIIQ_SLACK_SCOPES": "spec.slack.oauth.scopes",
    "PIIQ_SLACK_USER_SCOPES": "spec.slack.oauth.userScopes",
    "PIIQ_ARGS_KEYS": "spec.argsKeySecretRef",
    "PIIQ_AUDIT_WEBHOOK_URL": "spec.audit.secretRef",
    "PIIQ_AUDIT_WEBHOOK_SECRET": "spec.audit.secretRef",
    "PIIQ_AUDIT_SPLUNK_HEC_URL": "spec.audit.secretRef",
    "PIIQ_AUDIT_SPLUNK_HEC_TOKEN": "spec.audit.secretRef",
    "PIIQ_AUDIT_SPLUNK_INDEX": "spec.audit.secretRef",
    "PIIQ_EXEMPT_CHANNELS": "spec.slack.exemptChannels (validated channel IDs)",
    "PIIQ_ADMIN_CHANNEL": "spec.slack.adminChannel",
    "PIIQ_QUEUE_PREFIX": "spec.queuePrefix",
    "PIIQ_NODE": "the pod name (set by the operator)",
    "PIIQ_LOG_FORMAT": "json (set by the operator)",
    "PIIQ_METRICS_PORT": "the container's metrics port (set by the operator)",
    "PIIQ_INGRESS_PORT": "the ingress container's port (set by the operator)",
    "PIIQ_SLACK_API_URL": "the operator's installer (chart value operator.slackApiUrl): it "
    "decides where the Slack tokens are sent",
    "PIIQ_POLICY_FILE": "spec.detection.policyConfigMap (the policy mounted from a ConfigMap)",
    "PIIQ_RECOGNIZERS_FILE": "spec.detection.policyConfigMap.recognizersKey (mounted from a "
    "ConfigMap)",
}

# Why a setting no PIIQueue may change is refused (beyond RESERVED_ENV): each moves tokens
# or changes what is enforced, and whoever edits a PIIQueue need not be trusted with either.
ENFORCEMENT_ENV = {
    "PIIQ_DRY_RUN": "it switches deletion and notices off",
    "PIIQ_SPACY_MODEL": "it decides what is detected",
    "PIIQ_PHONE_REGIONS": "it decides what is detected",
    "PIIQ_MAX_FILE_BYTES": "it decides which files are scanned",
    "PIIQ_MAX_EVENT_BYTES": "it decides which events the ingress accepts",
    "PIIQ_SLACK_JOB_TIMEOUT": "too short a limit fails every Slack job",
}

# The only extra env a PIIQueue may set (spec.env, and the CRD's enum): logging and tuning
# that neither sends tokens anywhere nor changes what is enforced. Everything else is
# refused, non-PIIQ names too (LD_PRELOAD, PYTHONPATH, SSL_CERT_FILE, proxies ... would
# change what the container runs or whom it trusts).
ALLOWED_ENV = {
    "PIIQ_LOG_LEVEL": "lowest level logged: debug, info, warning or error",
    "PIIQ_NOTIFY": "false behind PgBouncer transaction pooling (workers poll instead)",
    "TZ": "time zone of the container",
    "OMP_NUM_THREADS": "threads of the numeric libraries under spaCy",
    "OPENBLAS_NUM_THREADS": "threads of OpenBLAS",
    "MKL_NUM_THREADS": "threads of MKL",
    "MALLOC_ARENA_MAX": "glibc malloc arenas (lower: less memory per thread)",
}


_SECRET = Hint("name the Secret in this namespace, e.g. secretRef: {name: piiq-db}")
_CHANNEL = Hint("use the ID Slack shows in the channel's details, e.g. C0123ABCD", "a channel ID")
_DURATION = Hint("use a number with a unit s, m, h, d or w, e.g. 30m")
_QUANTITY = Hint("use a whole number or a string such as 500m, 1 or 512Mi", "a quantity")
_PEER = Hint("give podSelector, namespaceSelector or ipBlock", "a NetworkPolicyPeer")
_KEY = Hint("a ConfigMap key: letters, digits, '-', '_' and '.'")
_SCOPE = Hint("use a Slack scope such as chat:write or channels:history", "a Slack scope")


def _env_name(path: str, value: Any) -> str:
    return f"{path.removesuffix('.name')}: {env_refusal(str(value))}"


# The fix for a value the schema refuses, by schema path; every `pattern` of the CRD has
# one (a test keeps them so): a person never reads a regular expression.
HINTS: Hints = {
    "spec.queues": Hint("name at least one queue, e.g. events: 20"),
    "spec.image": Hint("set the piiq container image, e.g. ghcr.io/x/piiq:0.1"),
    "spec.queuePrefix": Hint("use the schema that holds oban_jobs, e.g. public"),
    "spec.database": Hint("name the Secret holding the database URL: {secretRef: {name: piiq-db}}"),
    "spec.database.secretRef": _SECRET,
    "spec.database.secretRef.name": _SECRET,
    "spec.slack": Hint("name the Secret holding the Slack tokens: {secretRef: {name: piiq-slack}}"),
    "spec.slack.secretRef": _SECRET,
    "spec.slack.secretRef.name": _SECRET,
    "spec.slack.exemptChannels[]": _CHANNEL,
    "spec.slack.adminChannel": _CHANNEL,
    "spec.slack.oauth.secretRef.name": Hint(
        "name the Secret holding client-id, client-secret and token-keys, e.g. "
        "{name: piiq-slack-oauth}"
    ),
    "spec.slack.oauth.redirectUri": Hint(
        "use the public https URL of the install Service ending in /slack/oauth_redirect, "
        "e.g. https://piiq.example.com/slack/oauth_redirect",
        "an https URL of /slack/oauth_redirect",
    ),
    "spec.slack.oauth.scopes[]": _SCOPE,
    "spec.slack.oauth.userScopes[]": _SCOPE,
    "spec.pruner.maxAge": _DURATION,
    "spec.lifeline.rescueAfter": _DURATION,
    "spec.autoscaling.scaleDownDelay": _DURATION,
    "spec.maintenance.schedule": Hint("use a cron schedule of five fields, e.g. '*/5 * * * *'"),
    **{f"{where}.{kind}.*": _QUANTITY for where in RESOURCES for kind in ("limits", "requests")},
    "spec.networkPolicy.database.to[]": _PEER,
    "spec.networkPolicy.ingressFrom[]": _PEER,
    "spec.networkPolicy.metricsFrom[]": _PEER,
    "spec.imagePullSecrets[].name": Hint("name a docker-registry Secret"),
    "spec.podLabels.*": Hint(
        "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        "a valid label value",
    ),
    "spec.priorityClassName": Hint("name a PriorityClass"),
    "spec.serviceAccountName": Hint("name a ServiceAccount"),
    "spec.env[].name": _env_name,
    "spec.argsKeySecretRef.name": Hint(
        "name the Secret holding the args encryption keys, e.g. {name: piiq-args-key}"
    ),
    "spec.argsKeySecretRef.key": Hint("a Secret key: letters, digits, '-', '_' and '.'"),
    "spec.audit.secretRef.name": Hint(
        "name the Secret holding the SIEM sinks' settings, e.g. {name: piiq-audit}"
    ),
    "spec.detection.policyConfigMap.name": Hint(
        "name the ConfigMap in this namespace holding the detection policy, "
        "e.g. {name: piiq-detection}"
    ),
    "spec.detection.policyConfigMap.policyKey": _KEY,
    "spec.detection.policyConfigMap.recognizersKey": _KEY,
    "spec.cron[].expression": Hint(
        "use five cron fields or an alias such as '*/5 * * * *' or '@daily'"
    ),
    "spec.cron[].worker": Hint("name the worker class, e.g. myapp.workers.Report"),
    "spec.cron[].queue": Hint("name a queue of spec.queues, e.g. default"),
    "spec.cron[].name": Hint("use letters, digits, '-', '_' or '.'"),
}


class SpecError(ValueError):
    """Every problem found in one spec; ``problems`` are messages a person can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str


@dataclass(frozen=True)
class SlackOAuth:
    """``spec.slack.oauth``: multi-workspace installs, and the install Deployment."""

    secret: SecretRef  # keys client-id, client-secret, token-keys
    redirect_uri: str  # PIIQ_SLACK_REDIRECT_URI; "": the app's configured one
    scopes: tuple[str, ...] | None  # PIIQ_SLACK_SCOPES; None: piiq's default
    user_scopes: tuple[str, ...] | None  # PIIQ_SLACK_USER_SCOPES; None: default, (): none
    replicas: int


@dataclass(frozen=True)
class Slack:
    secret: SecretRef
    exempt_channels: tuple[str, ...]  # PIIQ_EXEMPT_CHANNELS: never scanned
    admin_channel: str  # PIIQ_ADMIN_CHANNEL: hears about PII it could not delete
    oauth: SlackOAuth | None = None  # OAuth installs (tokens per workspace)


@dataclass(frozen=True)
class QueueScaling:
    min_replicas: int
    max_replicas: int
    target_backlog_per_pod: int


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool
    scale_down_delay: float
    queues: dict[str, QueueScaling]


@dataclass(frozen=True)
class Ingress:
    enabled: bool
    replicas: int
    service_type: str
    service_port: int
    resources: dict[str, Any]


@dataclass(frozen=True)
class Maintenance:
    enabled: bool
    schedule: str
    prune_max_age: str
    rescue_after: str
    resources: dict[str, Any]


@dataclass(frozen=True)
class DisruptionBudget:
    enabled: bool
    max_unavailable: int


@dataclass(frozen=True)
class NetworkPolicy:
    enabled: bool
    database_port: int
    database_to: tuple[dict[str, Any], ...]  # NetworkPolicyPeers; empty: anywhere
    ingress_from: tuple[dict[str, Any], ...]  # who reaches the ingress; empty: anyone
    metrics_from: tuple[dict[str, Any], ...]  # who scrapes 9090; empty: no one


@dataclass(frozen=True)
class PodSettings:
    """What every pod of the PIIQueue gets, as given (the API server validates the shapes)."""

    image_pull_secrets: tuple[str, ...]
    annotations: dict[str, str]
    labels: dict[str, str]
    affinity: dict[str, Any]
    topology_spread_constraints: list[dict[str, Any]]
    priority_class_name: str
    service_account_name: str


@dataclass(frozen=True)
class PolicyConfigMap:
    """``spec.detection.policyConfigMap``: the ConfigMap holding the detection policy YAML
    and, optionally, custom recognizers, mounted on the workers."""

    name: str
    policy_key: str
    recognizers_key: str  # "": the image's built-in recognizers only


@dataclass(frozen=True)
class PIIQueueSpec:
    queues: dict[str, int]
    concurrency_per_pod: int
    image: str
    image_pull_policy: str
    queue_prefix: str
    database: SecretRef
    slack: Slack
    maintenance: Maintenance
    ingress: Ingress
    autoscaling: Autoscaling
    resources: dict[str, Any]
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    env: list[dict[str, str]]
    pod: PodSettings
    disruption_budget: DisruptionBudget
    network_policy: NetworkPolicy
    args_key: SecretRef | None  # PIIQ_ARGS_KEYS for the ingress and the workers
    audit: SecretRef | None  # the SIEM sinks' PIIQ_AUDIT_* for the workers (docs/audit.md)
    policy_config_map: PolicyConfigMap | None  # the workers' detection policy
    # Periodic jobs: each entry runs in the worker pods of its queue (``--cron``).
    cron: tuple[CronEntry, ...]


def object_suffix(queue: str) -> str:
    """A queue name as it appears in object names: ``pii_detection`` -> ``pii-detection``."""
    return queue.replace("_", "-")


def parse_spec(name: str, spec: Any, schema: Mapping[str, Any] | None = None) -> PIIQueueSpec:
    """The validated spec of PIIQueue ``name``; raises SpecError listing every problem.

    ``schema`` is the CRD's schema of ``spec`` (default: the CRD shipped with the operator)."""
    schema = crd.spec_schema() if schema is None else schema
    checker = Checker(HINTS)
    if len(name) > MAX_NAME or not OBJECT_NAME.match(name):
        checker.problems.append(
            f"metadata.name {name!r} is not usable: use at most {MAX_NAME} lowercase letters, "
            "digits and '-', starting with a letter (children are named after it)"
        )
    checked = checker.check({} if spec is None else spec, schema, "spec", "spec")
    values: dict[str, Any] = checked if isinstance(checked, dict) else {}
    problems = checker.problems
    queues = _queues(name, values.get("queues", {}), problems)
    scaling = {
        queue: _queue_scaling(values, schema, queue, concurrency, problems)
        for queue, concurrency in queues.items()
    }
    _check_across(values, queues, scaling, problems)
    cron = _cron(values.get("cron", []), queues, values, scaling, problems)
    if problems:
        raise SpecError(problems)
    return _build(values, queues, scaling, cron)


def _queues(name: str, given: Mapping[str, int], problems: list[str]) -> dict[str, int]:
    """The queues with usable names: the CRD's CEL rule on the names, and the Deployment
    each gets (``<name>-<queue>``: short enough, one per queue)."""
    queues: dict[str, int] = {}
    seen: dict[str, str] = {}
    for queue, concurrency in given.items():
        if not isinstance(queue, str) or not QUEUE_NAME.match(queue):
            problems.append(
                f"spec.queues: queue name {queue!r} is not a valid name: use lowercase letters, "
                "digits, '-' or '_', starting and ending with a letter or digit"
            )
            continue
        deployment = f"{name}-{object_suffix(queue)}"
        if len(deployment) > MAX_OBJECT_NAME:
            problems.append(
                f"spec.queues.{queue}: Deployment name {deployment!r} is longer than "
                f"{MAX_OBJECT_NAME} characters: shorten the queue or the PIIQueue name"
            )
        if (other := seen.setdefault(object_suffix(queue), queue)) != queue:
            problems.append(
                f"spec.queues: queues {other!r} and {queue!r} would share the Deployment "
                f"{deployment!r}: rename one of them"
            )
        queues[queue] = concurrency
    return queues


def _queue_scaling(
    values: Mapping[str, Any],
    schema: Mapping[str, Any],
    queue: str,
    concurrency: int,
    problems: list[str],
) -> QueueScaling:
    """A queue's autoscaling bounds: its entry of autoscaling.queues, or that entry's
    defaults; maxReplicas defaults to the static replicas, targetBacklogPerPod to the
    section's. Neither bound may exceed the concurrency (CEL rules of the CRD)."""
    section = values.get("autoscaling", {})
    entry = section.get("queues", {}).get(queue) or filled(at(schema, "autoscaling.queues.*"))
    per_pod = values.get("concurrencyPerPod") or concurrency
    low = entry.get("minReplicas", 0)
    high = entry.get("maxReplicas", -(-concurrency // per_pod))
    path = f"spec.autoscaling.queues.{queue}"
    if low > high:
        problems.append(f"{path}: minReplicas {low} is above maxReplicas {high}: lower minReplicas")
    for key, replicas in (("minReplicas", low), ("maxReplicas", high)):
        if replicas > concurrency:
            problems.append(
                f"{path}.{key} is {replicas}, above the queue's concurrency {concurrency} "
                f"(every pod runs at least one job): set it to at most {concurrency} or raise "
                f"spec.queues.{queue}"
            )
    target = entry.get("targetBacklogPerPod", section.get("targetBacklogPerPod", 1))
    return QueueScaling(low, high, target)


def _check_across(
    values: Mapping[str, Any],
    queues: Mapping[str, int],
    scaling: Mapping[str, QueueScaling],
    problems: list[str],
) -> None:
    for queue in values.get("autoscaling", {}).get("queues", {}):
        if queue not in scaling:
            problems.append(
                f"spec.autoscaling.queues.{queue} names no queue of spec.queues: add the queue "
                "there or remove this entry"
            )
    for where, why in (
        ("pruner.maxAge", "jobs pruned within a minute of finishing leave no record to inspect"),
        ("lifeline.rescueAfter", "rescuing jobs that are still running runs them twice"),
        ("autoscaling.scaleDownDelay", ""),
    ):
        section, key = where.split(".")
        text = values.get(section, {}).get(key)
        if text is None:
            continue
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            problems.append(f"spec.{where}: {exc}")
            continue
        if why and seconds < MIN_MAINTENANCE_AGE:
            problems.append(
                f"spec.{where} is {text}: set at least {MIN_MAINTENANCE_AGE / 60:g}m ({why})"
            )
    for where in RESOURCES:
        resources = at_path(values, where.removeprefix("spec."))
        for kind, amounts in resources.items():
            for resource, amount in amounts.items():
                if not _is_quantity(amount):
                    problems.append(
                        f"{where}.{kind}.{resource} {amount!r} is not a quantity: use a whole "
                        "number or a string such as 500m, 1 or 512Mi"
                    )
    _check_pod_metadata(values, problems)
    policy = values.get("detection", {}).get("policyConfigMap") or {}
    if policy.get("recognizersKey") and policy.get("policyKey") == policy["recognizersKey"]:
        problems.append(
            f"spec.detection.policyConfigMap: policyKey and recognizersKey both name "
            f"{policy['policyKey']!r}: the policy and the recognizers are two YAML documents, "
            "give each its own key"
        )


def at_path(values: Mapping[str, Any], dotted: str) -> Mapping[str, Any]:
    """The object at ``dotted`` ("maintenance.resources"), or an empty one."""
    for key in dotted.split("."):
        values = values.get(key) or {}
    return values


def _check_pod_metadata(values: Mapping[str, Any], problems: list[str]) -> None:
    """Label and annotation keys (map keys: the schema cannot check them), and the labels
    the operator keeps for itself (a CEL rule of the CRD)."""
    for key in map(str, values.get("podLabels", {})):
        if key.startswith(OPERATOR_LABEL_PREFIXES):
            problems.append(
                f"spec.podLabels.{key}: labels under {' and '.join(OPERATOR_LABEL_PREFIXES)} "
                "are the operator's (its selectors use them): choose another key"
            )
        elif not LABEL_KEY.match(key):
            problems.append(f"spec.podLabels: {key!r} is not a valid label key")
    for key in map(str, values.get("podAnnotations", {})):
        if not LABEL_KEY.match(key):
            problems.append(f"spec.podAnnotations: {key!r} is not a valid key")


def _cron(
    items: list[Any],
    queues: Mapping[str, int],
    values: Mapping[str, Any],
    scaling: Mapping[str, QueueScaling],
    problems: list[str],
) -> tuple[CronEntry, ...]:
    """``spec.cron``: periodic jobs, each inserted by the worker pods of its queue. Entries
    the schema refused (reported already) are skipped."""
    autoscaled = values.get("autoscaling", {}).get("enabled", False)
    entries: list[CronEntry] = []
    for i, item in enumerate(items):
        if item is None or not {"expression", "worker", "queue"} <= set(item):
            continue
        path, queue = f"spec.cron[{i}]", item["queue"]
        if queue not in queues:
            problems.append(
                f"{path}.queue {queue!r} is not a queue of spec.queues: the entry runs in "
                "that queue's worker pods; add the queue there or pick another"
            )
            continue
        if autoscaled and scaling[queue].min_replicas == 0:
            problems.append(
                f"{path}: queue {queue!r} may scale to zero pods "
                f"(autoscaling.queues.{queue}.minReplicas 0), and then no pod inserts the "
                "entry's jobs: set minReplicas to 1 or more"
            )
            continue
        try:
            entries.append(
                CronEntry(
                    item["expression"],
                    item["worker"],
                    args=item.get("args", {}),
                    queue=queue,
                    priority=item.get("priority"),
                    name=item.get("name") or None,
                )
            )
        except CronError as exc:
            problems.append(f"{path}: {exc}")
    return tuple(entries)


def _build(
    values: Mapping[str, Any],
    queues: dict[str, int],
    scaling: dict[str, QueueScaling],
    cron: tuple[CronEntry, ...],
) -> PIIQueueSpec:
    """The dataclasses of a spec the checks passed: every default is in ``values``."""
    slack, maintenance, ingress = values["slack"], values["maintenance"], values["ingress"]
    network, budget = values["networkPolicy"], values["disruptionBudget"]
    args_key = values.get("argsKeySecretRef")
    audit = values.get("audit")
    policy = values.get("detection", {}).get("policyConfigMap")
    return PIIQueueSpec(
        queues=queues,
        concurrency_per_pod=values["concurrencyPerPod"],
        image=values["image"],
        image_pull_policy=values["imagePullPolicy"],
        queue_prefix=values["queuePrefix"],
        database=_secret(values["database"]["secretRef"]),
        slack=Slack(
            _secret(slack["secretRef"]),
            tuple(slack.get("exemptChannels", ())),
            slack.get("adminChannel", ""),
            _oauth(slack.get("oauth")),
        ),
        maintenance=Maintenance(
            enabled=maintenance["enabled"],
            schedule=maintenance["schedule"],
            prune_max_age=values["pruner"]["maxAge"],
            rescue_after=values["lifeline"]["rescueAfter"],
            resources=dict(maintenance.get("resources", {})),
        ),
        ingress=Ingress(
            enabled=ingress["enabled"],
            replicas=ingress["replicas"],
            service_type=ingress["service"]["type"],
            service_port=ingress["service"]["port"],
            resources=dict(ingress.get("resources", {})),
        ),
        autoscaling=Autoscaling(
            enabled=values["autoscaling"]["enabled"],
            scale_down_delay=parse_duration(values["autoscaling"]["scaleDownDelay"]),
            queues=scaling,
        ),
        resources=dict(values.get("resources", {})),
        node_selector=values.get("nodeSelector", {}),
        tolerations=[
            {k: v for k, v in t.items() if v not in ("", None)}
            for t in values.get("tolerations", [])
        ],
        env=[{"name": e["name"], "value": e.get("value", "")} for e in values.get("env", [])],
        pod=PodSettings(
            image_pull_secrets=tuple(s["name"] for s in values.get("imagePullSecrets", [])),
            annotations=values.get("podAnnotations", {}),
            labels=values.get("podLabels", {}),
            affinity=values.get("affinity", {}),
            topology_spread_constraints=values.get("topologySpreadConstraints", []),
            priority_class_name=values.get("priorityClassName", ""),
            service_account_name=values.get("serviceAccountName", ""),
        ),
        disruption_budget=DisruptionBudget(budget["enabled"], budget["maxUnavailable"]),
        network_policy=NetworkPolicy(
            enabled=network["enabled"],
            database_port=network["database"]["port"],
            database_to=tuple(network["database"].get("to", ())),
            ingress_from=tuple(network.get("ingressFrom", ())),
            metrics_from=tuple(network.get("metricsFrom", ())),
        ),
        args_key=_secret(args_key) if args_key else None,
        audit=_secret(audit["secretRef"]) if audit else None,
        policy_config_map=PolicyConfigMap(
            policy["name"], policy["policyKey"], policy.get("recognizersKey", "")
        )
        if policy
        else None,
        cron=cron,
    )


def _oauth(oauth: Mapping[str, Any] | None) -> SlackOAuth | None:
    if not oauth:
        return None
    scopes, user_scopes = oauth.get("scopes"), oauth.get("userScopes")
    return SlackOAuth(
        secret=_secret(oauth["secretRef"]),
        redirect_uri=oauth.get("redirectUri", ""),
        scopes=tuple(scopes) if scopes is not None else None,
        user_scopes=tuple(user_scopes) if user_scopes is not None else None,
        replicas=oauth["replicas"],
    )


def _secret(ref: Mapping[str, str]) -> SecretRef:
    return SecretRef(ref["name"], ref.get("key", ""))


def _is_quantity(value: int | str) -> bool:
    try:
        parse_quantity(value)
    except ValueError:
        return False
    return True


def env_refusal(name: str) -> str | None:
    """Why ``name`` may not be set in spec.env, or None when it may."""
    if name in ALLOWED_ENV:
        return None
    if name in RESERVED_ENV:
        return f"{name} is set by the operator from {RESERVED_ENV[name]}: remove it from env"
    allowed = ", ".join(ALLOWED_ENV)
    why = ENFORCEMENT_ENV.get(name)
    if why:
        return (
            f"{name} may not be set by a PIIQueue ({why}): remove it from env; "
            f"the extra env a PIIQueue may set: {allowed}"
        )
    return (
        f"{name} is not among the extra env a PIIQueue may set ({allowed}): remove it "
        "(docs/operator.md says why others are refused)"
    )
