package testenv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// WebhooksCalled reports whether the API server calls the operator's
// webhooks, both of them: a dry-run create of an office whose parent does not
// exist comes back with the validating webhook's warning, and with the
// default the mutating webhook gives a reception window. The API server
// takes in each webhook configuration on its own, a moment after it is
// written, so one may be called while the other is not yet. The error is
// that of the create.
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
		Spec: v1alpha1.OfficeSpec{
			Level:            v1alpha1.LevelCounty,
			Parent:           "webhook-probe-parent",
			ReceptionWindows: []v1alpha1.ReceptionWindow{{Name: "online", Channels: []v1alpha1.Channel{v1alpha1.ChannelOnline}, Always: true}},
		},
	}
	if err := c.Create(ctx, probe, client.DryRunAll); err != nil {
		return false, err
	}
	validated := strings.Contains(strings.Join(warnings.Messages(), "\n"), "webhook-probe-parent")
	defaulted := probe.Spec.ReceptionWindows[0].ClosedOnHolidays != nil
	return validated && defaulted, nil
}

// WaitForWebhooks waits until the API server calls the operator's webhooks
// (WebhooksCalled), polling every 100ms, for at most timeout.
func WaitForWebhooks(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		called, err := WebhooksCalled(ctx, cfg)
		if called {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("a dry-run create came back without the validating webhook's warning or the mutating webhook's default")
			}
			return fmt.Errorf("the API server did not call the operator's webhooks within %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
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
