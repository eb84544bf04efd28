{{/*
Name of the chart.
*/}}
{{- define "petition-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, at most 63 characters (DNS label). When the release
name already contains the chart name, it is used as is.
*/}}
{{- define "petition-operator.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "petition-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "petition-operator.labels" -}}
helm.sh/chart: {{ include "petition-operator.chart" . }}
{{ include "petition-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller-manager
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels (immutable on the Deployment: do not change them).
*/}}
{{- define "petition-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "petition-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end }}

{{/*
Name of the ServiceAccount the manager runs as.
*/}}
{{- define "petition-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "petition-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The ServiceAccount of the Cities' case registries, which the chart makes.
*/}}
{{- define "petition-operator.registryServiceAccountName" -}}
{{- default (printf "%s-registry" (include "petition-operator.fullname" .)) .Values.registry.serviceAccountName }}
{{- end }}

{{/*
The manager's image.
*/}}
{{- define "petition-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
A name made of the full name and a suffix, at most 63 characters (a Service
name is a DNS label): the full name is shortened, never the suffix.
Call with (list . "suffix").
*/}}
{{- define "petition-operator.suffixed" -}}
{{- $ctx := index . 0 }}
{{- $suffix := index . 1 }}
{{- $max := sub 62 (len $suffix) | int }}
{{- printf "%s-%s" (include "petition-operator.fullname" $ctx | trunc $max | trimSuffix "-") $suffix }}
{{- end }}

{{/*
The generated webhook configurations (config/webhook/manifests.yaml, copied
by `make manifests`), one dict per document.
*/}}
{{- define "petition-operator.webhookManifests" -}}
{{- $docs := list }}
{{- range regexSplit "(?m)^---[ \t]*$" (.Files.Get "files/webhook-manifests.yaml") -1 }}
{{- $doc := fromYaml . }}
{{- if $doc }}
{{- $docs = append $docs $doc }}
{{- end }}
{{- end }}
{{- if ne (len $docs) 2 }}
{{- fail "files/webhook-manifests.yaml must hold one ValidatingWebhookConfiguration and one MutatingWebhookConfiguration: run make manifests" }}
{{- end }}
{{- toYaml (dict "docs" $docs) }}
{{- end }}

{{/*
The generated (unprefixed) name of the webhook configuration of a kind.
Call with (list . "ValidatingWebhookConfiguration").
*/}}
{{- define "petition-operator.webhookGeneratedName" -}}
{{- $ctx := index . 0 }}
{{- $kind := index . 1 }}
{{- range (include "petition-operator.webhookManifests" $ctx | fromYaml).docs }}
{{- if eq .kind $kind }}{{ .metadata.name }}{{ end }}
{{- end }}
{{- end }}

{{/*
The release's name of the webhook configuration of a kind: the full name and
the generated name. Call with (list . "ValidatingWebhookConfiguration").
*/}}
{{- define "petition-operator.webhookConfigurationName" -}}
{{- $ctx := index . 0 }}
{{- printf "%s-%s" (include "petition-operator.fullname" $ctx) (include "petition-operator.webhookGeneratedName" .) }}
{{- end }}

{{/*
The Service the webhooks call: the full name and the Service name the
generated configurations use.
*/}}
{{- define "petition-operator.webhookServiceName" -}}
{{- $svc := "" }}
{{- range (include "petition-operator.webhookManifests" . | fromYaml).docs }}
{{- range .webhooks }}
{{- $svc = .clientConfig.service.name }}
{{- end }}
{{- end }}
{{- include "petition-operator.suffixed" (list . $svc) }}
{{- end }}

{{/*
The directory the webhook server reads tls.crt and tls.key from.
*/}}
{{- define "petition-operator.webhookCertDir" -}}
/tmp/k8s-webhook-server/serving-certs
{{- end }}

{{/*
The Secret in which the manager keeps the webhooks' CA and serving
certificate when it makes them (webhook.certs=selfSigned).
*/}}
{{- define "petition-operator.webhookCertSecretName" -}}
{{- include "petition-operator.suffixed" (list . "webhook-cert") }}
{{- end }}

{{/*
The cert-manager Certificate of the webhooks, and its Secret.
*/}}
{{- define "petition-operator.webhookCertificateName" -}}
{{- include "petition-operator.suffixed" (list . "webhook-serving-cert") }}
{{- end }}

{{/*
gracefulShutdownTimeout in seconds: whole seconds (30s, or 30) or minutes (2m).
*/}}
{{- define "petition-operator.gracefulShutdownSeconds" -}}
{{- $v := toString .Values.gracefulShutdownTimeout }}
{{- if regexMatch "^[0-9]+s?$" $v }}
{{- trimSuffix "s" $v }}
{{- else if regexMatch "^[0-9]+m$" $v }}
{{- mul (trimSuffix "m" $v | int) 60 }}
{{- else }}
{{- fail (printf "gracefulShutdownTimeout %q: want whole seconds or minutes, such as 30s or 2m" $v) }}
{{- end }}
{{- end }}

{{/*
Refuses values that cannot work, with what to change.
*/}}
{{- define "petition-operator.validate" -}}
{{- if .Values.webhook.enabled }}
{{- if not (has .Values.webhook.certs (list "selfSigned" "certManager")) }}
{{- fail (printf "webhook.certs %q: want selfSigned or certManager" (toString .Values.webhook.certs)) }}
{{- end }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection) }}
{{- fail (printf "replicaCount %d needs leaderElection: true, or the replicas would reconcile the same offices at once. Set leaderElection=true, or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- if lt (int .Values.replicaCount) 1 }}
{{- fail (printf "replicaCount %d: want at least 1" (int .Values.replicaCount)) }}
{{- end }}
{{- if le (float64 .Values.kubeAPIQPS) 0.0 }}
{{- fail (printf "kubeAPIQPS %v: want more than 0 queries per second" .Values.kubeAPIQPS) }}
{{- end }}
{{- $ms := dict }}
{{- range $k := list "leaseDuration" "renewDeadline" "retryPeriod" }}
{{- $v := index $.Values.leaderElectionTimings $k | toString }}
{{- if not (regexMatch "^[0-9]+(ms|s|m)$" $v) }}
{{- fail (printf "leaderElectionTimings.%s %q: want a duration such as 8s" $k $v) }}
{{- end }}
{{- $unit := regexFind "(ms|s|m)$" $v }}
{{- $_ := set $ms $k (mul (trimSuffix $unit $v | int64) (get (dict "ms" 1 "s" 1000 "m" 60000) $unit)) }}
{{- end }}
{{- if and .Values.leaderElection (le (get $ms "leaseDuration" | int64) (add (get $ms "renewDeadline") (get $ms "retryPeriod") | int64)) }}
{{- fail (printf "leaderElectionTimings: leaseDuration %s must exceed renewDeadline %s + retryPeriod %s, or a leader that cannot renew could still act when another takes the Lease (the manager refuses to start)" (toString .Values.leaderElectionTimings.leaseDuration) (toString .Values.leaderElectionTimings.renewDeadline) (toString .Values.leaderElectionTimings.retryPeriod)) }}
{{- end }}
{{- $ports := dict "8081" "the health probes" }}
{{- if .Values.metrics.enabled }}
{{- if eq (int .Values.metrics.port) 8081 }}
{{- fail "metrics.port 8081 is the port of the health probes: give the metrics another" }}
{{- end }}
{{- $_ := set $ports (toString (int .Values.metrics.port)) "metrics.port" }}
{{- end }}
{{- if .Values.webhook.enabled }}
{{- $p := toString (int .Values.webhook.port) }}
{{- if hasKey $ports $p }}
{{- fail (printf "webhook.port %s is already the port of %s: give the webhooks another" $p (get $ports $p)) }}
{{- end }}
{{- end }}
{{- end }}
