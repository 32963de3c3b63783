{{/*
"A service" of the platform, the Helm twin of cdk8s/src/constructs/service.ts: Deployment + Service +
probes on /health/live and /health/ready + resources + env from ConfigMap/Secret + OTEL_* + non-root,
read-only root FS with a writable /tmp + PodDisruptionBudget + HorizontalPodAutoscaler.
Call with (dict "root" $ "component" "api" "port" 3000 "entry" "services/api/src/main.ts" "database" true).
*/}}
{{- define "pm.service" -}}
{{- $root := .root -}}
{{- $values := index $root.Values .component -}}
{{- $name := printf "%s-%s" (include "pm.fullname" $root) .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "pm.labels" . | nindent 4 }}
spec:
  {{- if not $values.autoscaling.enabled }}
  replicas: {{ $values.replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "pm.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "pm.labels" . | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmaps.yaml") $root | sha256sum }}
    spec:
      automountServiceAccountToken: false
      securityContext:
        {{- include "pm.podSecurityContext" $root | nindent 8 }}
      {{- with $root.Values.image.pullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "pm.image" . }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          # args, not command: the image's ENTRYPOINT (tini) stays PID 1.
          args: ["node", "--import", "./services/shared/src/observability/instrumentation.ts", {{ .entry | quote }}]
          ports:
            - name: http
              containerPort: {{ .port }}
          envFrom:
            - configMapRef:
                name: {{ $name }}
          env:
            {{- include "pm.commonEnv" . | nindent 12 }}
            {{- if .database }}
            - name: PG_URL
              valueFrom:
                secretKeyRef: { name: {{ include "pm.dbSecret" $root }}, key: PG_URL }
            - name: PG_REPLICA_URL
              valueFrom:
                secretKeyRef: { name: {{ include "pm.dbSecret" $root }}, key: PG_REPLICA_URL, optional: true }
            {{- end }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          startupProbe:
            httpGet: { path: /health/live, port: http }
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet: { path: /health/live, port: http }
            periodSeconds: 10
          readinessProbe:
            httpGet: { path: /health/ready, port: http }
            periodSeconds: 5
            failureThreshold: 2
          securityContext:
            {{- include "pm.containerSecurityContext" $root | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "pm.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "pm.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .port }}
      targetPort: http
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "pm.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ $root.Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "pm.selectorLabels" . | nindent 6 }}
{{- if $values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}
  labels:
    {{- include "pm.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $name }}
  minReplicas: {{ $values.autoscaling.minReplicas }}
  maxReplicas: {{ $values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}
