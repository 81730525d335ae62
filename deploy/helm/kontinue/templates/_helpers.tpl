{{/* FULLNAME: the release's name when it contains "kontinue", else RELEASE-kontinue. */}}
{{- define "kontinue.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 56 | trimSuffix "-" -}}
{{- else if contains "kontinue" .Release.Name -}}
{{- .Release.Name | trunc 56 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kontinue" .Release.Name | trunc 56 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of the worker's Deployment, ServiceAccount, Role and RoleBinding. */}}
{{- define "kontinue.worker" -}}
{{- printf "%s-worker" (include "kontinue.fullname" .) -}}
{{- end -}}

{{/* The namespace the worker watches: worker.namespace, or the release's. */}}
{{- define "kontinue.workerNamespace" -}}
{{- .Values.worker.namespace | default .Release.Namespace -}}
{{- end -}}

{{/* Labels of every object. kontinue install prints app.kubernetes.io/name only. */}}
{{- define "kontinue.labels" -}}
app.kubernetes.io/name: kontinue
{{ include "kontinue.releaseLabels" . }}
{{- end -}}

{{/* The labels only Helm adds (the CRDs' own are app.kubernetes.io/part-of: kontinue). */}}
{{- define "kontinue.releaseLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* What selects the worker's pods. */}}
{{- define "kontinue.selectorLabels" -}}
app.kubernetes.io/name: kontinue
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end -}}

{{/* The worker's ServiceAccount: serviceAccount.name, or the chart's own. */}}
{{- define "kontinue.serviceAccount" -}}
{{- .Values.serviceAccount.name | default (include "kontinue.worker" .) -}}
{{- end -}}
