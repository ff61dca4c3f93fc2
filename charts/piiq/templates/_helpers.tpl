{{/* Object names: <release>-piiq, or the release name when it already says piiq. */}}
{{- define "piiq.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "piiq.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "piiq.selectorLabels" -}}
app.kubernetes.io/name: {{ include "piiq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "piiq.labels" -}}
{{ include "piiq.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: piiq
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "piiq.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "piiq.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "piiq.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The operator's and the test Pod's hardening: values podSecurityContext and
securityContext (docs/operator.md: the same as the children by default). */}}
{{- define "piiq.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "piiq.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/* Namespaced rules, for a ClusterRole (all namespaces) or a Role per watched namespace. */}}
{{- define "piiq.namespacedRules" -}}
- apiGroups: [piiq.dev]
  resources: [piiqueues]
  verbs: [get, list, watch, patch]
- apiGroups: [piiq.dev]
  resources: [piiqueues/status]
  verbs: [get, patch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* The namespaces the operator watches, as a JSON list; empty when cluster-wide. */}}
{{- define "piiq.watchNamespaces" -}}
{{- if .Values.operator.clusterWide }}
{{- if .Values.operator.watchNamespaces }}
{{- fail "operator.clusterWide watches every namespace: leave operator.watchNamespaces empty (or set clusterWide: false)" }}
{{- end }}
{{- list | toJson }}
{{- else }}
{{- default (list .Release.Namespace) .Values.operator.watchNamespaces | toJson }}
{{- end }}
{{- end }}

{{/* The image repositories PIIQueues may run: the chart's own by default. */}}
{{- define "piiq.allowedImageRepositories" -}}
{{- default (list .Values.image.repository) .Values.operator.allowedImageRepositories | toJson }}
{{- end }}

{{/* The Secret holding PIIQ_ARGS_KEYS, or "" when args are not encrypted. */}}
{{- define "piiq.argsKeySecret" -}}
{{- if and .Values.argsEncryption.generate .Values.argsEncryption.existingSecret }}
{{- fail "argsEncryption: set generate or existingSecret, not both" }}
{{- end }}
{{- if .Values.argsEncryption.generate }}
{{- printf "%s-args-key" (include "piiq.fullname" .) }}
{{- else }}
{{- .Values.argsEncryption.existingSecret }}
{{- end }}
{{- end }}
