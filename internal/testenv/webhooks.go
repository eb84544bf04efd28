package testenv

import (
	"context"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// WebhooksCalled reports whether the API server calls the operator's
// webhooks: a dry-run create of an office whose parent does not exist comes
// back with the webhook's warning. The error is that of the create.
func WebhooksCalled(ctx context.Context, cfg *rest.Config) (bool, error) {
	warnings := &WarningRecorder{}
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = warnings
	c, err := client.New(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		return false, err
	}
	probe := &v1alpha1.Office{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-probe"},
		Spec:       v1alpha1.OfficeSpec{Level: v1alpha1.LevelCounty, Parent: "webhook-probe-parent"},
	}
	if err := c.Create(ctx, probe, client.DryRunAll); err != nil {
		return false, err
	}
	return strings.Contains(strings.Join(warnings.Messages(), "\n"), "webhook-probe-parent"), nil
}

// WarningRecorder is a rest.WarningHandler that keeps the warnings the API
// server returns.
type WarningRecorder struct {
	mu       sync.Mutex
	messages []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *WarningRecorder) HandleWarningHeader(_ int, _ string, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = append(w.messages, message)
}

// Messages returns the warnings received since the last Reset.
func (w *WarningRecorder) Messages() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.messages...)
}

// Reset forgets the warnings received.
func (w *WarningRecorder) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = nil
}
