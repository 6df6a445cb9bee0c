"""SLOs and alerts as code: the three objectives, multi-window burn-rate alerts on each, and pages
for dead-lettered requests and a stuck transcription queue.

The SLIs read the OpenTelemetry metrics the code exports to Cloud Monitoring
(``workload.googleapis.com/mixscribe.*``, see ``mixscribe/telemetry.py``). Burn rates follow the
SRE workbook: page when 2 % of a 28-day budget burns in an hour (rate 14.4, confirmed over 5
minutes), open a ticket when 5 % burns in 6 hours (rate 6, confirmed over 30 minutes).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mixscribe.topology import WORK_QUEUES

METRIC = "workload.googleapis.com/mixscribe"
WINDOW_DAYS = 28
QUEUE_AGE_ALERT_S = 900


@dataclass(frozen=True)
class Objective:
    slo_id: str
    display: str
    goal: float
    sli: str  # "ratio" (good/total filters) or "cut" (distribution at most ``max``)
    metric: str
    good: str = ""  # for ratio: the extra filter of good events
    max: float = 0.0  # for cut: the most a good event may measure (the metric's unit)


OBJECTIVES = (
    Objective(
        "api-availability",
        "API: 99.5 % of requests answer without a 5xx",
        0.995,
        "ratio",
        "api.request.duration",
        good='metric.label.status_class = monitoring.regex.full_match("[234]xx")',
    ),
    Objective("api-latency", "API: 95 % of requests within 500 ms", 0.95, "cut", "api.request.duration", max=0.5),
    Objective(
        "time-to-transcript",
        "Transcripts: 95 % within 30 s per audio minute of the upload",
        0.95,
        "cut",
        "transcript.latency_per_audio_minute",
        max=30.0,
    ),
)
# (name, long window, short window, burn rate, severity)
BURN_ALERTS = (("fast-burn", "3600s", "300s", 14.4, "CRITICAL"), ("slow-burn", "21600s", "1800s", 6.0, "WARNING"))


def _burn_rate_filter(slo_name: str, window: str) -> str:
    return f'select_slo_burn_rate("{slo_name}", "{window}")'


def metric_filter(metric: str, extra: str = "") -> str:
    return f'metric.type="{METRIC}.{metric}"' + (f" {extra}" if extra else "")


def sli(objective: Objective) -> gcp.monitoring.SloRequestBasedSliArgs:
    if objective.sli == "ratio":
        return gcp.monitoring.SloRequestBasedSliArgs(
            good_total_ratio=gcp.monitoring.SloRequestBasedSliGoodTotalRatioArgs(
                good_service_filter=metric_filter(objective.metric, objective.good),
                total_service_filter=metric_filter(objective.metric),
            )
        )
    return gcp.monitoring.SloRequestBasedSliArgs(
        distribution_cut=gcp.monitoring.SloRequestBasedSliDistributionCutArgs(
            distribution_filter=metric_filter(objective.metric),
            range=gcp.monitoring.SloRequestBasedSliDistributionCutRangeArgs(max=objective.max),
        )
    )


class Observability(pulumi.ComponentResource):
    def __init__(self, name: str, project: str, alert_email: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mixscribe:observability:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        channels: list[pulumi.Input[str]] = []
        if alert_email:
            channel = gcp.monitoring.NotificationChannel(
                f"{name}-email",
                project=project,
                type="email",
                display_name="mixscribe on-call",
                labels={"email_address": alert_email},
                opts=child,
            )
            channels.append(channel.name)
        service = gcp.monitoring.CustomService(
            f"{name}-service", project=project, service_id="mixscribe", display_name="mixscribe", opts=child
        )
        self.slos: dict[str, gcp.monitoring.Slo] = {}
        for objective in OBJECTIVES:
            slo = gcp.monitoring.Slo(
                f"{name}-{objective.slo_id}",
                project=project,
                service=service.service_id,
                slo_id=objective.slo_id,
                display_name=objective.display,
                goal=objective.goal,
                rolling_period_days=WINDOW_DAYS,
                request_based_sli=sli(objective),
                opts=child,
            )
            self.slos[objective.slo_id] = slo
            for alert, long_window, short_window, rate, severity in BURN_ALERTS:
                conditions = [
                    gcp.monitoring.AlertPolicyConditionArgs(
                        display_name=f"burn rate over {window} above {rate}",
                        condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                            filter=slo.name.apply(functools.partial(_burn_rate_filter, window=window)),
                            comparison="COMPARISON_GT",
                            threshold_value=rate,
                            duration="0s",
                        ),
                    )
                    for window in (long_window, short_window)
                ]
                gcp.monitoring.AlertPolicy(
                    f"{name}-{objective.slo_id}-{alert}",
                    project=project,
                    combiner="AND",
                    severity=severity,
                    display_name=f"{objective.display}: {alert}",
                    conditions=conditions,
                    notification_channels=channels,
                    documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                        mime_type="text/markdown",
                        content=f"Error budget of `{objective.slo_id}` burning {rate}x too fast. See docs/reliability.md.",
                    ),
                    opts=child,
                )
        gcp.monitoring.AlertPolicy(
            f"{name}-dead-letters",
            project=project,
            combiner="OR",
            severity="CRITICAL",
            display_name="A request was dead-lettered (its job failed with dead_lettered)",
            conditions=[
                gcp.monitoring.AlertPolicyConditionArgs(
                    display_name="CRITICAL log line with alert=true",
                    condition_matched_log=gcp.monitoring.AlertPolicyConditionConditionMatchedLogArgs(
                        filter='severity="CRITICAL" AND jsonPayload.alert=true',
                        label_extractors={"job_id": "EXTRACT(jsonPayload.job_id)", "code": "EXTRACT(jsonPayload.code)"},
                    ),
                )
            ],
            alert_strategy=gcp.monitoring.AlertPolicyAlertStrategyArgs(
                notification_rate_limit=gcp.monitoring.AlertPolicyAlertStrategyNotificationRateLimitArgs(period="300s"),
                auto_close="1800s",
            ),
            notification_channels=channels,
            documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                mime_type="text/markdown", content="Inspect the `*-dead-inspect` subscription; see docs/reliability.md."
            ),
            opts=child,
        )
        gcp.monitoring.AlertPolicy(
            f"{name}-queue-age",
            project=project,
            combiner="OR",
            severity="ERROR",
            display_name=f"Oldest transcription request older than {QUEUE_AGE_ALERT_S // 60} minutes",
            conditions=[
                gcp.monitoring.AlertPolicyConditionArgs(
                    display_name=f"oldest unacked {queue.priority} request",
                    condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                        filter=(
                            'metric.type="pubsub.googleapis.com/subscription/oldest_unacked_message_age" '
                            f'resource.type="pubsub_subscription" resource.label.subscription_id="{queue.subscription()}"'
                        ),
                        comparison="COMPARISON_GT",
                        threshold_value=QUEUE_AGE_ALERT_S,
                        duration="300s",
                        aggregations=[
                            gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                                alignment_period="60s", per_series_aligner="ALIGN_MAX"
                            )
                        ],
                    ),
                )
                for queue in WORK_QUEUES  # one condition per priority queue
            ],
            notification_channels=channels,
            opts=child,
        )
        self.register_outputs({slo_id: slo.name for slo_id, slo in self.slos.items()})
