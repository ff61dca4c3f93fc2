"""Parse and validate a PIIQueue spec into frozen dataclasses.

The CRD's openAPIV3Schema rejects most mistakes on a real API server, but the operator
checks again: an old CRD, an emulator or ``kubectl apply --validate=false`` let anything
through, and a person needs one message naming the value and the fix. The defaults here
are the CRD's defaults (a test keeps the two equal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from kubernetes.utils import parse_quantity

from piiq.queue.cron import CronEntry, CronError
from piiq.queue.durations import parse_duration

QUEUE_NAME = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$")
OBJECT_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DURATION = re.compile(r"^[0-9]+(\.[0-9]+)?[smhdw]?$")
SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")  # a Secret data key
LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Labels the operator sets on pods (selectors among them): podLabels may not use these.
OPERATOR_LABEL_PREFIXES = ("app.kubernetes.io/", "piiq.dev/")
PEER_FIELDS = {"podSelector", "namespaceSelector", "ipBlock"}
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{1,31}$")
SCHEDULE = re.compile(r"^(@(yearly|annually|monthly|weekly|daily|hourly)|(\S+\s+){4}\S+)$")

MAX_NAME = 40  # "<name>-maintenance" must fit a CronJob name (52 characters)
MAX_OBJECT_NAME = 63
MAX_QUEUES = 20
MAX_CRON = 50
CRON_EXPRESSION = re.compile(
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)"
    r"|[0-9A-Za-z*/,-]+(\s+[0-9A-Za-z*/,-]+){4})$"
)
WORKER_NAME = re.compile(r"^\S{1,127}$")
CRON_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
MAX_CONCURRENCY = 1000
MAX_REPLICAS = 100
MIN_MAINTENANCE_AGE = 60.0  # seconds: pruner.maxAge and lifeline.rescueAfter
TOLERATION_OPERATORS = ("Exists", "Equal")
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
RESOURCE_KINDS = ("limits", "requests")

DEFAULTS: dict[str, Any] = {
    "concurrencyPerPod": 10,
    "imagePullPolicy": "IfNotPresent",
    "queuePrefix": "public",
    "database.secretRef.key": "url",
    "argsKeySecretRef.key": "PIIQ_ARGS_KEYS",
    "pruner.maxAge": "7d",
    "lifeline.rescueAfter": "30m",
    "maintenance.enabled": True,
    "maintenance.schedule": "*/5 * * * *",
    "ingress.enabled": False,
    "ingress.replicas": 2,
    "ingress.service.type": "ClusterIP",
    "ingress.service.port": 80,
    "autoscaling.enabled": False,
    "autoscaling.targetBacklogPerPod": 50,
    "autoscaling.scaleDownDelay": "5m",
    "autoscaling.queues.*.minReplicas": 1,
    "disruptionBudget.enabled": True,
    "disruptionBudget.maxUnavailable": 1,
    "networkPolicy.enabled": False,
    "networkPolicy.database.port": 5432,
    "detection.policyConfigMap.policyKey": "policy.yaml",
}

# Set by the operator from the spec, the operator's own settings or the pod.
RESERVED_ENV = {
    "PIIQ_DATABASE_URL": "spec.database.secretRef",
    "PIIQ_SLACK_BOT_TOKEN": "spec.slack.secretRef",
    "PIIQ_SLACK_ADMIN_TOKEN": "spec.slack.secretRef",
    "PIIQ_SLACK_SIGNING_SECRET": "spec.slack.secretRef",
    "PIIQ_SLACK_APP_TOKEN": "spec.slack.secretRef",
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


class SpecError(ValueError):
    """Every problem found in one spec; ``problems`` are messages a person can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str = ""


@dataclass(frozen=True)
class Slack:
    secret: SecretRef
    exempt_channels: tuple[str, ...] = ()  # PIIQ_EXEMPT_CHANNELS: never scanned
    admin_channel: str = ""  # PIIQ_ADMIN_CHANNEL: hears about PII it could not delete


@dataclass(frozen=True)
class QueueScaling:
    min_replicas: int
    max_replicas: int
    target_backlog_per_pod: int


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool
    scale_down_delay: float
    queues: dict[str, QueueScaling] = field(default_factory=dict)


@dataclass(frozen=True)
class Ingress:
    enabled: bool
    replicas: int
    service_type: str
    service_port: int
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Maintenance:
    enabled: bool
    schedule: str
    prune_max_age: str
    rescue_after: str
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DisruptionBudget:
    enabled: bool
    max_unavailable: int


@dataclass(frozen=True)
class NetworkPolicy:
    enabled: bool = False
    database_port: int = 5432
    database_to: tuple[dict[str, Any], ...] = ()  # NetworkPolicyPeers; empty: anywhere
    ingress_from: tuple[dict[str, Any], ...] = ()  # who reaches the ingress; empty: anyone
    metrics_from: tuple[dict[str, Any], ...] = ()  # who scrapes 9090; empty: no one


@dataclass(frozen=True)
class PodSettings:
    """What every pod of the PIIQueue gets, as given (the API server validates the shapes)."""

    image_pull_secrets: tuple[str, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    affinity: dict[str, Any] = field(default_factory=dict)
    topology_spread_constraints: list[dict[str, Any]] = field(default_factory=list)
    priority_class_name: str = ""
    service_account_name: str = ""


@dataclass(frozen=True)
class PolicyConfigMap:
    """``spec.detection.policyConfigMap``: the ConfigMap holding the detection policy YAML
    and, optionally, custom recognizers, mounted on the workers."""

    name: str
    policy_key: str = DEFAULTS["detection.policyConfigMap.policyKey"]
    recognizers_key: str = ""  # none: the image's built-in recognizers only


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
    resources: dict[str, Any] = field(default_factory=dict)
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    env: list[dict[str, str]] = field(default_factory=list)
    pod: PodSettings = field(default_factory=PodSettings)
    disruption_budget: DisruptionBudget = DisruptionBudget(True, 1)
    network_policy: NetworkPolicy = NetworkPolicy()
    args_key: SecretRef | None = None  # PIIQ_ARGS_KEYS for the ingress and the workers
    audit: SecretRef | None = None  # the SIEM sinks' PIIQ_AUDIT_* for the workers
    policy_config_map: PolicyConfigMap | None = None  # the workers' detection policy
    # Periodic jobs: each entry runs in the worker pods of its queue (``--cron``).
    cron: tuple[CronEntry, ...] = ()


def object_suffix(queue: str) -> str:
    """A queue name as it appears in object names: ``pii_detection`` -> ``pii-detection``."""
    return queue.replace("_", "-")


class _Fields:
    """Typed access to one object of the spec, collecting problems instead of raising."""

    def __init__(self, data: Any, path: str, problems: list[str]) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problems.append(f"{path} must be an object, not {data!r}")
            data = {}
        self.data, self.path, self.problems = data, path, problems
        self.known: set[str] = set()

    def _get(self, key: str, default: Any, kind: type | tuple[type, ...], what: str) -> Any:
        self.known.add(key)
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            self.problems.append(f"{self.path}.{key} must be {what}, not {value!r}")
            return default
        return value

    def integer(self, key: str, default: int | None, low: int, high: int) -> int:
        value = self._get(key, default, int, "a whole number")
        if value is None:
            self.problems.append(
                f"{self.path}.{key} is required: set a number from {low} to {high}"
            )
            return low
        if not low <= value <= high:
            self.problems.append(f"{self.path}.{key} is {value}: set a number from {low} to {high}")
            return max(low, min(high, value))
        return value

    def optional_integer(self, key: str) -> int | None:
        return self._get(key, None, int, "a whole number")

    def string(
        self,
        key: str,
        default: str | None,
        pattern: re.Pattern[str] | None = None,
        hint: str = "",
        required: bool = True,
    ) -> str:
        value = self._get(key, default, str, "a string")
        if not required and not value:
            return ""
        if value is None or value == "":
            self.problems.append(f"{self.path}.{key} is required{': ' + hint if hint else ''}")
            return ""
        if pattern is not None and not pattern.match(value):
            self.problems.append(f"{self.path}.{key} {value!r} is not valid: {hint}")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(key, default)
        if value not in choices:
            self.problems.append(f"{self.path}.{key} {value!r} is not one of {', '.join(choices)}")
        return value

    def duration(self, key: str, default: str, at_least: float = 0.0, why: str = "") -> str:
        """A duration string; ``at_least`` seconds, else a problem ending with ``why``."""
        value = self.string(key, default, DURATION, "use a number with a unit s, m, h, d or w")
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            if DURATION.match(value):
                self.problems.append(f"{self.path}.{key}: {exc}")
            return value
        if seconds < at_least:
            self.problems.append(
                f"{self.path}.{key} is {value}: set at least {at_least / 60:g}m ({why})"
            )
        return value

    def boolean(self, key: str, default: bool) -> bool:
        return self._get(key, default, bool, "true or false")

    def mapping(self, key: str) -> dict[str, Any]:
        return dict(self._get(key, {}, dict, "an object"))

    def sequence(self, key: str) -> list[Any]:
        return list(self._get(key, [], list, "a list"))

    def child(self, key: str) -> _Fields:
        self.known.add(key)
        return _Fields(self.data.get(key), f"{self.path}.{key}", self.problems)

    def done(self) -> None:
        for key in sorted(set(self.data) - self.known):
            self.problems.append(
                f"{self.path}.{key} is not a known field: remove it "
                f"(known fields: {', '.join(sorted(self.known))})"
            )


def parse_spec(name: str, spec: Any) -> PIIQueueSpec:
    """The validated spec of PIIQueue ``name``; raises SpecError listing every problem."""
    problems: list[str] = []
    if len(name) > MAX_NAME or not OBJECT_NAME.match(name):
        problems.append(
            f"metadata.name {name!r} is not usable: use at most {MAX_NAME} lowercase letters, "
            "digits and '-', starting with a letter (children are named after it)"
        )
    root = _Fields(spec, "spec", problems)
    queues = _queues(root, name)
    per_pod = root.integer("concurrencyPerPod", DEFAULTS["concurrencyPerPod"], 1, MAX_CONCURRENCY)
    image = root.string("image", None, hint="set the piiq container image, e.g. ghcr.io/x/piiq:0.1")
    pull = root.choice(
        "imagePullPolicy", DEFAULTS["imagePullPolicy"], ("Always", "IfNotPresent", "Never")
    )
    prefix = root.string(
        "queuePrefix",
        DEFAULTS["queuePrefix"],
        re.compile(r"^[a-z_][a-z0-9_]*$"),
        "use the schema that holds oban_jobs, e.g. public",
    )
    database = _secret_ref(root.child("database"), DEFAULTS["database.secretRef.key"])
    slack = _slack(root.child("slack"))
    parsed = PIIQueueSpec(
        queues=queues,
        concurrency_per_pod=per_pod,
        image=image,
        image_pull_policy=pull,
        queue_prefix=prefix,
        database=database,
        slack=slack,
        maintenance=_maintenance(root),
        ingress=_ingress(root.child("ingress")),
        autoscaling=_autoscaling(root.child("autoscaling"), queues, per_pod),
        resources=_resources(root),
        node_selector=_string_map(root, "nodeSelector"),
        tolerations=_tolerations(root),
        env=_env(root),
        args_key=_args_key(root),
        audit=_audit(root),
        pod=_pod_settings(root),
        disruption_budget=_disruption_budget(root.child("disruptionBudget")),
        network_policy=_network_policy(root.child("networkPolicy")),
        policy_config_map=_policy_config_map(root.child("detection")),
    )
    parsed = replace(parsed, cron=_cron(root, parsed))
    root.done()
    if problems:
        raise SpecError(problems)
    return parsed


def _queues(root: _Fields, name: str) -> dict[str, int]:
    raw = root.mapping("queues")
    path = f"{root.path}.queues"
    if not raw:
        root.problems.append(f"{path} is empty: name at least one queue, e.g. events: 20")
    if len(raw) > MAX_QUEUES:
        root.problems.append(f"{path} has {len(raw)} queues: at most {MAX_QUEUES} are allowed")
    queues: dict[str, int] = {}
    seen: dict[str, str] = {}
    for queue, concurrency in raw.items():
        if not isinstance(queue, str) or not QUEUE_NAME.match(queue):
            root.problems.append(
                f"{path}: queue name {queue!r} is not a valid name: use lowercase letters, "
                "digits, '-' or '_', starting and ending with a letter or digit"
            )
            continue
        deployment = f"{name}-{object_suffix(queue)}"
        if len(deployment) > MAX_OBJECT_NAME:
            root.problems.append(
                f"{path}.{queue}: Deployment name {deployment!r} is longer than "
                f"{MAX_OBJECT_NAME} characters: shorten the queue or the PIIQueue name"
            )
        if (other := seen.setdefault(object_suffix(queue), queue)) != queue:
            root.problems.append(
                f"{path}: queues {other!r} and {queue!r} would share the Deployment "
                f"{deployment!r}: rename one of them"
            )
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            root.problems.append(
                f"{path}.{queue}: concurrency {concurrency!r} must be a whole number, e.g. 10"
            )
        elif not 1 <= concurrency <= MAX_CONCURRENCY:
            root.problems.append(
                f"{path}.{queue}: concurrency {concurrency} is out of range: set 1 to "
                f"{MAX_CONCURRENCY} (remove the queue to stop serving it)"
            )
        else:
            queues[queue] = concurrency
    return queues


def _secret_ref(parent: _Fields, default_key: str | None) -> SecretRef:
    ref = parent.child("secretRef")
    hint = "name the Secret in this namespace, e.g. secretRef: {name: piiq-db}"
    name = ref.string("name", None, SECRET_NAME, hint)
    key = ref.string("key", default_key, hint="name the key in the Secret") if default_key else ""
    ref.done()
    parent.done()
    return SecretRef(name=name, key=key)


def _peers(section: _Fields, key: str) -> tuple[dict[str, Any], ...]:
    """A list of NetworkPolicyPeers (podSelector, namespaceSelector, ipBlock), as given."""
    peers = section.sequence(key)
    for i, peer in enumerate(peers):
        if not isinstance(peer, dict) or not peer or set(peer) - PEER_FIELDS:
            section.problems.append(
                f"{section.path}.{key}[{i}] {peer!r} is not a NetworkPolicyPeer: give "
                "podSelector, namespaceSelector or ipBlock"
            )
    return tuple(dict(p) for p in peers if isinstance(p, dict))


def _network_policy(section: _Fields) -> NetworkPolicy:
    database = section.child("database")
    result = NetworkPolicy(
        enabled=section.boolean("enabled", DEFAULTS["networkPolicy.enabled"]),
        database_port=database.integer("port", DEFAULTS["networkPolicy.database.port"], 1, 65535),
        database_to=_peers(database, "to"),
        ingress_from=_peers(section, "ingressFrom"),
        metrics_from=_peers(section, "metricsFrom"),
    )
    database.done()
    section.done()
    return result


def _disruption_budget(section: _Fields) -> DisruptionBudget:
    result = DisruptionBudget(
        enabled=section.boolean("enabled", DEFAULTS["disruptionBudget.enabled"]),
        max_unavailable=section.integer(
            "maxUnavailable", DEFAULTS["disruptionBudget.maxUnavailable"], 1, MAX_REPLICAS
        ),
    )
    section.done()
    return result


def _pod_settings(root: _Fields) -> PodSettings:
    pulls = []
    for i, item in enumerate(root.sequence("imagePullSecrets")):
        one = _Fields(item, f"{root.path}.imagePullSecrets[{i}]", root.problems)
        pulls.append(one.string("name", None, SECRET_NAME, "name a docker-registry Secret"))
        one.done()
    labels = _string_map(root, "podLabels")
    for key, value in labels.items():
        where = f"{root.path}.podLabels"
        if key.startswith(OPERATOR_LABEL_PREFIXES):
            root.problems.append(
                f"{where}.{key}: labels under {' and '.join(OPERATOR_LABEL_PREFIXES)} are the "
                "operator's (its selectors use them): choose another key"
            )
        elif not LABEL_KEY.match(key):
            root.problems.append(f"{where}: {key!r} is not a valid label key")
        if isinstance(value, str) and not LABEL_VALUE.match(value):
            root.problems.append(
                f"{where}.{key} {value!r} is not a valid label value: at most 63 letters, "
                "digits, '-', '_' or '.', starting and ending with a letter or digit"
            )
    annotations = _string_map(root, "podAnnotations")
    for key in annotations:
        if not LABEL_KEY.match(key):
            root.problems.append(f"{root.path}.podAnnotations: {key!r} is not a valid key")
    spreads = root.sequence("topologySpreadConstraints")
    for i, item in enumerate(spreads):
        if not isinstance(item, dict):
            root.problems.append(
                f"{root.path}.topologySpreadConstraints[{i}] must be an object, not {item!r}"
            )
    return PodSettings(
        image_pull_secrets=tuple(pulls),
        annotations=annotations,
        labels=labels,
        affinity=root.mapping("affinity"),
        topology_spread_constraints=[dict(c) for c in spreads if isinstance(c, dict)],
        priority_class_name=root.string(
            "priorityClassName", "", DNS_SUBDOMAIN, "name a PriorityClass", required=False
        ),
        service_account_name=root.string(
            "serviceAccountName", "", DNS_SUBDOMAIN, "name a ServiceAccount", required=False
        ),
    )


def _slack(section: _Fields) -> Slack:
    exempt = section.sequence("exemptChannels")
    for i, channel in enumerate(exempt):
        if not isinstance(channel, str) or not CHANNEL_ID.match(channel):
            section.problems.append(
                f"{section.path}.exemptChannels[{i}] {channel!r} is not a channel ID: use the "
                "ID Slack shows in the channel's details, e.g. C0123ABCD"
            )
    admin = section.string("adminChannel", "", required=False)
    if admin and not CHANNEL_ID.match(admin):
        section.problems.append(
            f"{section.path}.adminChannel {admin!r} is not a channel ID: use the ID Slack "
            "shows in the channel's details, e.g. C0123ABCD"
        )
    secret = _secret_ref(section, None)
    return Slack(secret, tuple(c for c in exempt if isinstance(c, str)), admin)


def _args_key(root: _Fields) -> SecretRef | None:
    """``argsKeySecretRef: {name, key}``: the Secret key holding PIIQ_ARGS_KEYS."""
    if root.data.get("argsKeySecretRef") is None:
        root.known.add("argsKeySecretRef")
        return None
    ref = root.child("argsKeySecretRef")
    hint = "name the Secret holding the args encryption keys, e.g. {name: piiq-args-key}"
    name = ref.string("name", None, SECRET_NAME, hint)
    key = ref.string("key", DEFAULTS["argsKeySecretRef.key"], SECRET_KEY, "a Secret key")
    ref.done()
    return SecretRef(name=name, key=key)


def _audit(root: _Fields) -> SecretRef | None:
    """``audit: {secretRef: {name}}``: the Secret holding the SIEM sinks (docs/audit.md)."""
    if root.data.get("audit") is None:
        root.known.add("audit")
        return None
    return _secret_ref(root.child("audit"), None)


def _policy_config_map(section: _Fields) -> PolicyConfigMap | None:
    """``detection: {policyConfigMap: {name, policyKey, recognizersKey}}``."""
    if section.data.get("policyConfigMap") is None:
        section.known.add("policyConfigMap")
        section.done()
        return None
    ref = section.child("policyConfigMap")
    key_hint = "a ConfigMap key: letters, digits, '-', '_' and '.'"
    result = PolicyConfigMap(
        name=ref.string(
            "name",
            None,
            DNS_SUBDOMAIN,
            "name the ConfigMap in this namespace holding the detection policy, "
            "e.g. {name: piiq-detection}",
        ),
        policy_key=ref.string(
            "policyKey", DEFAULTS["detection.policyConfigMap.policyKey"], SECRET_KEY, key_hint
        ),
        recognizers_key=ref.string("recognizersKey", "", SECRET_KEY, key_hint, required=False),
    )
    if result.policy_key == result.recognizers_key:
        section.problems.append(
            f"{ref.path}: policyKey and recognizersKey both name {result.policy_key!r}: the "
            "policy and the recognizers are two YAML documents, give each its own key"
        )
    ref.done()
    section.done()
    return result


def _maintenance(root: _Fields) -> Maintenance:
    pruner, lifeline, section = (
        root.child("pruner"),
        root.child("lifeline"),
        root.child("maintenance"),
    )
    result = Maintenance(
        enabled=section.boolean("enabled", DEFAULTS["maintenance.enabled"]),
        schedule=section.string(
            "schedule",
            DEFAULTS["maintenance.schedule"],
            SCHEDULE,
            "use a cron schedule of five fields, e.g. '*/5 * * * *'",
        ),
        prune_max_age=pruner.duration(
            "maxAge",
            DEFAULTS["pruner.maxAge"],
            MIN_MAINTENANCE_AGE,
            "jobs pruned within a minute of finishing leave no record to inspect",
        ),
        rescue_after=lifeline.duration(
            "rescueAfter",
            DEFAULTS["lifeline.rescueAfter"],
            MIN_MAINTENANCE_AGE,
            "rescuing jobs that are still running runs them twice",
        ),
        resources=_resources(section),
    )
    for part in (pruner, lifeline, section):
        part.done()
    return result


def _ingress(section: _Fields) -> Ingress:
    service = section.child("service")
    result = Ingress(
        enabled=section.boolean("enabled", DEFAULTS["ingress.enabled"]),
        replicas=section.integer("replicas", DEFAULTS["ingress.replicas"], 0, MAX_REPLICAS),
        service_type=service.choice(
            "type", DEFAULTS["ingress.service.type"], ("ClusterIP", "NodePort", "LoadBalancer")
        ),
        service_port=service.integer("port", DEFAULTS["ingress.service.port"], 1, 65535),
        resources=_resources(section),
    )
    service.done()
    section.done()
    return result


def _autoscaling(section: _Fields, queues: dict[str, int], per_pod: int) -> Autoscaling:
    enabled = section.boolean("enabled", DEFAULTS["autoscaling.enabled"])
    target = section.integer(
        "targetBacklogPerPod", DEFAULTS["autoscaling.targetBacklogPerPod"], 1, 1_000_000
    )
    delay = section.duration("scaleDownDelay", DEFAULTS["autoscaling.scaleDownDelay"])
    overrides = section.child("queues")
    scaling: dict[str, QueueScaling] = {}
    for queue in overrides.data:
        if queue not in queues:
            section.problems.append(
                f"{overrides.path}.{queue} names no queue of spec.queues: add the queue there "
                "or remove this entry"
            )
    for queue, concurrency in queues.items():
        one = overrides.child(queue)
        static = -(-concurrency // per_pod)
        low = one.integer(
            "minReplicas", DEFAULTS["autoscaling.queues.*.minReplicas"], 0, MAX_REPLICAS
        )
        high = one.integer("maxReplicas", static, 1, MAX_REPLICAS)
        if low > high:
            section.problems.append(
                f"{one.path}: minReplicas {low} is above maxReplicas {high}: lower minReplicas"
            )
        for key, replicas in (("minReplicas", low), ("maxReplicas", high)):
            if replicas > concurrency:
                section.problems.append(
                    f"{one.path}.{key} is {replicas}, above the queue's concurrency "
                    f"{concurrency} (every pod runs at least one job): set it to at most "
                    f"{concurrency} or raise spec.queues.{queue}"
                )
        scaling[queue] = QueueScaling(
            low, high, one.integer("targetBacklogPerPod", target, 1, 1_000_000)
        )
        one.done()
    section.done()
    return Autoscaling(enabled=enabled, scale_down_delay=_seconds(delay), queues=scaling)


def _cron(root: _Fields, parsed: PIIQueueSpec) -> tuple[CronEntry, ...]:
    """``spec.cron``: periodic jobs, each inserted by the worker pods of its queue."""
    items = root.sequence("cron")
    path = f"{root.path}.cron"
    if len(items) > MAX_CRON:
        root.problems.append(f"{path} has {len(items)} entries: at most {MAX_CRON} are allowed")
    entries: list[CronEntry] = []
    for i, item in enumerate(items):
        one = _Fields(item, f"{path}[{i}]", root.problems)
        before = len(root.problems)
        expression = one.string(
            "expression",
            None,
            CRON_EXPRESSION,
            "use five cron fields or an alias such as '*/5 * * * *' or '@daily'",
        )
        worker = one.string(
            "worker", None, WORKER_NAME, "name the worker class, e.g. myapp.workers.Report"
        )
        queue = one.string("queue", None, hint="name a queue of spec.queues, e.g. default")
        args = one.mapping("args")
        priority = one.optional_integer("priority")
        name = one.string(
            "name", "", CRON_NAME, "use letters, digits, '-', '_' or '.'", required=False
        )
        one.done()
        if queue and queue not in parsed.queues:
            root.problems.append(
                f"{one.path}.queue {queue!r} is not a queue of spec.queues: the entry runs in "
                "that queue's worker pods; add the queue there or pick another"
            )
        scaling = parsed.autoscaling.queues.get(queue)
        if parsed.autoscaling.enabled and scaling is not None and scaling.min_replicas == 0:
            root.problems.append(
                f"{one.path}: queue {queue!r} may scale to zero pods "
                f"(autoscaling.queues.{queue}.minReplicas 0), and then no pod inserts the "
                "entry's jobs: set minReplicas to 1 or more"
            )
        if len(root.problems) > before:
            continue
        try:
            entries.append(
                CronEntry(
                    expression,
                    worker,
                    args=args,
                    queue=queue,
                    priority=priority,
                    name=name or None,
                )
            )
        except CronError as exc:
            root.problems.append(f"{one.path}: {exc}")
    return tuple(entries)


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError:
        return 0.0  # already reported


def _resources(parent: _Fields) -> dict[str, dict[str, int | str]]:
    """``resources: {limits, requests}``, each resource name -> a quantity (1, "500m")."""
    section = parent.child("resources")
    result: dict[str, dict[str, int | str]] = {}
    for kind in RESOURCE_KINDS:
        amounts = section.mapping(kind)
        for resource, amount in amounts.items():
            if not _is_quantity(amount):
                section.problems.append(
                    f"{section.path}.{kind}.{resource} {amount!r} is not a quantity: use a "
                    "whole number or a string such as 500m, 1 or 512Mi"
                )
        if amounts:
            result[kind] = amounts
    section.done()
    return result


def _is_quantity(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return False
    try:
        parse_quantity(value)
    except ValueError:
        return False
    return True


def _tolerations(root: _Fields) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(root.sequence("tolerations")):
        one = _Fields(item, f"{root.path}.tolerations[{i}]", root.problems)
        toleration: dict[str, Any] = {
            "key": one.string("key", "", required=False),
            "operator": one.string("operator", "", required=False),
            "value": one.string("value", "", required=False),
            "effect": one.string("effect", "", required=False),
            "tolerationSeconds": one.optional_integer("tolerationSeconds"),
        }
        for key, allowed in (("operator", TOLERATION_OPERATORS), ("effect", TOLERATION_EFFECTS)):
            if toleration[key] and toleration[key] not in allowed:
                one.problems.append(
                    f"{one.path}.{key} {toleration[key]!r} is not one of {', '.join(allowed)}"
                )
        one.done()
        result.append({k: v for k, v in toleration.items() if v not in ("", None)})
    return result


def _string_map(root: _Fields, key: str) -> dict[str, str]:
    value = root.mapping(key)
    for k, v in value.items():
        if not isinstance(v, str):
            root.problems.append(f"{root.path}.{key}.{k} must be a string, not {v!r}")
    return value


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


def _env(root: _Fields) -> list[dict[str, str]]:
    env: list[dict[str, str]] = []
    for i, item in enumerate(root.sequence("env")):
        entry = _Fields(item, f"{root.path}.env[{i}]", root.problems)
        name = entry.string("name", None, ENV_NAME, "use letters, digits and '_'")
        value = entry.string("value", "", required=False)
        entry.done()
        if name and (refusal := env_refusal(name)):
            root.problems.append(f"{entry.path}: {refusal}")
        env.append({"name": name, "value": value})
    return env
