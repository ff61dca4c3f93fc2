{{/* Labels every pod of a PIIQueue carries (operator/piiq_operator/manifests.py `labels`). */}}
{{- define "piiq.piiqueuePodLabels" -}}
app.kubernetes.io/part-of: piiq
app.kubernetes.io/managed-by: piiq-operator
{{- end }}

{{/* The port the operator gives the workers' and the ingress's "metrics" (METRICS_PORT). */}}
{{- define "piiq.piiqueueMetricsPort" -}}
9090
{{- end }}

{{- define "piiq.monitoringLabels" -}}
{{ include "piiq.labels" . }}
{{- with .Values.monitoring.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* One scrape endpoint: the component (operator, worker, ingress) and, for a PIIQueue's
pods, the PIIQueue's name become labels the dashboard and the alerts group by. */}}
{{- define "piiq.scrapeEndpoint" -}}
path: /metrics
interval: {{ .ctx.Values.monitoring.interval }}
scrapeTimeout: {{ .ctx.Values.monitoring.scrapeTimeout }}
relabelings:
  - sourceLabels: [__meta_kubernetes_pod_label_app_kubernetes_io_component]
    targetLabel: component
  {{- if .piiqueue }}
  - sourceLabels: [__meta_kubernetes_pod_label_app_kubernetes_io_instance]
    targetLabel: piiqueue
  {{- end }}
{{- end }}

{{- define "piiq.monitorsExclusive" -}}
{{- if and .Values.monitoring.serviceMonitor.enabled .Values.monitoring.podMonitor.enabled }}
{{- fail "monitoring.serviceMonitor and monitoring.podMonitor both scrape the same pods: enable one of them" }}
{{- end }}
{{- end }}
