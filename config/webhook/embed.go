// Package webhook embeds the admission webhook configurations that
// controller-gen generates from the markers of internal/webhook, so that the
// manager can install them itself for a local run.
package webhook

import _ "embed"

// Manifests is manifests.yaml: one MutatingWebhookConfiguration and one
// ValidatingWebhookConfiguration whose webhooks name the Service
// webhook-service.
//
//go:embed manifests.yaml
var Manifests []byte
