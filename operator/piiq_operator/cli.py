"""``piiq operator``: run the PIIQueue operator (kopf) cluster-wide or in some namespaces."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import click
import kopf
import prometheus_client

from .handlers import Options, build_registry, settings
from .kube import Kube, load_config
from .policy import Policy, check_repository_entry, check_slack_api_url

DEFAULT_LIVENESS = "http://0.0.0.0:8080/healthz"


async def run_operator(
    *,
    namespaces: tuple[str, ...] = (),
    liveness: str | None = DEFAULT_LIVENESS,
    standalone: bool = True,
    options: Options | None = None,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
) -> None:
    """The operator until ``stop_flag`` (or a signal); the CLI and the tests both use this."""
    registry = build_registry(lambda: Kube(load_config()), options or Options())
    await kopf.operator(
        registry=registry,
        settings=settings(standalone),
        clusterwide=not namespaces,
        namespaces=list(namespaces),
        liveness_endpoint=liveness,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )


@click.command("operator")
@click.option(
    "--namespace",
    "-n",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Watch PIIQueues in this namespace only; repeat for more. [default: all namespaces]",
)
@click.option(
    "--all-namespaces",
    "-A",
    is_flag=True,
    help="Watch PIIQueues in every namespace (the default when no --namespace is given).",
)
@click.option(
    "--liveness",
    default=DEFAULT_LIVENESS,
    show_default=True,
    metavar="URL",
    help="Serve kopf's liveness probe here; 'off' to disable.",
)
@click.option(
    "--standalone/--peering",
    default=True,
    show_default=True,
    help="Run without kopf peering (one replica, Deployment strategy Recreate).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds between drift, readiness and backlog checks of each PIIQueue.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(min=0),
    default=9090,
    show_default=True,
    help="Serve Prometheus /metrics (reconciles, errors, durations) here; 0 to disable.",
)
@click.option(
    "--allowed-image-repository",
    "allowed_images",
    multiple=True,
    metavar="REPO",
    help="An image repository PIIQueues may run (any tag or digest of it); 'registry/path/*' "
    "allows every repository under it, '*' any image. Repeat for more. PIIQueues naming "
    "another image are refused (Degraded). [default: none, so every image is refused]",
)
@click.option(
    "--slack-api-url",
    metavar="URL",
    default=None,
    help="PIIQ_SLACK_API_URL of every worker and Socket Mode ingress (a Slack sandbox or "
    "an egress gateway); PIIQueues cannot set it. [default: the image's, Slack itself]",
)
@click.option("--verbose", is_flag=True, help="Log kopf's own progress too.")
@click.option(
    "--log-format",
    type=click.Choice(["json", "plain"]),
    default="json",
    show_default=True,
    help="json: one object per line (kubectl logs).",
)
def operator_command(
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    liveness: str,
    standalone: bool,
    interval: float,
    metrics_port: int,
    allowed_images: tuple[str, ...],
    slack_api_url: str | None,
    verbose: bool,
    log_format: str,
) -> None:
    """Reconcile PIIQueue resources into worker Deployments, a maintenance CronJob and the
    ingress. Needs RBAC for piiqueues (+status), deployments, cronjobs, services, secrets
    (get, in the namespaces it watches) and events (create); see docs/operator.md."""
    if all_namespaces and namespaces:
        raise click.UsageError("give --namespace or --all-namespaces, not both")
    for entry in allowed_images:
        if problem := check_repository_entry(entry):
            raise click.BadParameter(problem, param_hint="--allowed-image-repository")
    if slack_api_url is not None and (problem := check_slack_api_url(slack_api_url)):
        raise click.BadParameter(problem, param_hint="--slack-api-url")
    policy = Policy(allowed_image_repositories=allowed_images, slack_api_url=slack_api_url)
    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.PLAIN,
    )
    if not verbose:
        logging.getLogger("kopf").setLevel(logging.INFO)
    if metrics_port:
        prometheus_client.start_http_server(metrics_port)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_operator(
                namespaces=namespaces,
                liveness=None if liveness == "off" else liveness,
                standalone=standalone,
                options=Options(interval=interval, policy=policy),
            )
        )
