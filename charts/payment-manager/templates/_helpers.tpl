{{/* Name prefix of every object: the release name, plus "-payment-manager" unless it already says so. */}}
{{- define "pm.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pm.selectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: payment-manager
{{- end -}}

{{- define "pm.labels" -}}
{{ include "pm.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "pm.image" -}}
{{- $image := index .root.Values.image .component -}}
{{- $tag := $image.tag | default .root.Chart.AppVersion -}}
{{- if eq $tag "latest" -}}{{- fail (printf "image.%s.tag must not be \"latest\": pin a version" .component) -}}{{- end -}}
{{- printf "%s:%s" $image.repository $tag -}}
{{- end -}}

{{- define "pm.dbSecret" -}}
{{- .Values.database.existingSecret | default (printf "%s-db" (include "pm.fullname" .)) -}}
{{- end -}}

{{- define "pm.webhookSecret" -}}
{{- .Values.webhook.existingSecret | default (printf "%s-webhook" (include "pm.fullname" .)) -}}
{{- end -}}

{{- define "pm.hasWebhookSecret" -}}
{{- if or .Values.webhook.existingSecret .Values.webhook.secret -}}true{{- end -}}
{{- end -}}

{{/* Pod security context shared by every pod of the chart. */}}
{{- define "pm.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "pm.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Env common to both services: OTEL_* and the webhook secret. */}}
{{- define "pm.commonEnv" -}}
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: POD_NAMESPACE
  valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
- name: OTEL_SERVICE_NAME
  value: payment-manager-{{ .component }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),service.namespace=payment-manager
{{- if .root.Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .root.Values.otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: http/protobuf
- name: OTEL_TRACES_SAMPLER
  value: {{ .root.Values.otel.sampler | quote }}
{{- else }}
- name: OTEL_SDK_DISABLED
  value: "true"
{{- end }}
{{- if include "pm.hasWebhookSecret" .root }}
- name: WEBHOOK_SECRET
  valueFrom:
    secretKeyRef: { name: {{ include "pm.webhookSecret" .root }}, key: WEBHOOK_SECRET }
{{- end }}
{{- end -}}
