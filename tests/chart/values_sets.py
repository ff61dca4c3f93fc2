"""Value sets the chart tests render: the defaults and every optional part switched on."""

from __future__ import annotations

from typing import Any

QUICK_START: dict[str, Any] = {
    "quickStartSecrets": {
        "create": True,
        "databaseUrl": "postgresql://piiq:pw@postgres:5432/piiq",
        "slack": {
            "botToken": "xoxb-1",
            "signingSecret": "s3cr3t",
            "adminToken": "xoxp-1",
            "appToken": "xapp-1",
        },
    },
    "examplePIIQueue": {"enabled": True},
}

EVERYTHING: dict[str, Any] = {
    **QUICK_START,
    "image": {"repository": "registry.example.com/piiq", "tag": "1.2.3", "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "regcred"}],
    "operator": {
        "watchNamespaces": ["team-a", "team-b"],
        "interval": 2.5,
        "logFormat": "plain",
        "verbose": True,
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "podAnnotations": {"example.com/scrape": "false"},
        "priorityClassName": "system-cluster-critical",
        "allowedImageRepositories": ["registry.example.com/piiq", "registry.example.com/team/*"],
        "slackApiUrl": "https://slack-gateway.example.com/api/",
    },
    "argsEncryption": {"generate": True},
    "serviceAccount": {"annotations": {"example.com/role": "piiq"}},
    "tests": {"canaryQueue": "events", "timeout": "90s"},
    "migrations": {"activeDeadlineSeconds": 600, "resources": {"limits": {"memory": "512Mi"}}},
}

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "quick-start": QUICK_START,
    "everything": EVERYTHING,
    "no-hooks-no-rbac": {
        "tests": {"enabled": False},
        "migrations": {"hook": False},
        "rbac": {"create": False},
    },
    "cluster-wide": {"operator": {"clusterWide": True}, "argsEncryption": {"existingSecret": "k"}},
}
