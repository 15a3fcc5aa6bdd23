{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "release-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, with the chart name unless it already contains it. */}}
{{- define "release-server.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "release-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "release-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "release-server.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "release-server.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "release-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "release-server.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the token: the user's, or the one this chart creates. */}}
{{- define "release-server.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else }}
{{- include "release-server.fullname" . }}
{{- end }}
{{- end }}

{{- define "release-server.secretKey" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{/* Exactly one token source: the image refuses to start without one. */}}
{{- define "release-server.checkToken" -}}
{{- if and .Values.authToken .Values.existingSecret }}
{{- fail "set only one of authToken and existingSecret" }}
{{- end }}
{{- if not (or .Values.authToken .Values.existingSecret) }}
{{- fail "set authToken, or existingSecret naming a Secret that holds the upload token" }}
{{- end }}
{{- end }}

{{- define "release-server.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* A single-writer volume cannot be mounted by the old and new pod at once. */}}
{{- define "release-server.strategy" -}}
{{- if .Values.objectStorage.enabled }}RollingUpdate{{ else if and .Values.persistence.enabled (has .Values.persistence.accessMode (list "ReadWriteOnce" "ReadWriteOncePod")) }}Recreate{{ else }}RollingUpdate{{ end }}
{{- end }}
