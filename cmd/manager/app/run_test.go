package app

import (
	"errors"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/client-go/util/workqueue"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// TestResetQueueMetrics leaves an item in a queue, as a manager that lost
// its leadership does, and checks that resetQueueMetrics finds
// controller-runtime's gauges and clears what the queue left in them.
func TestResetQueueMetrics(t *testing.T) {
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: "reset-test"})
	q.Add("left behind")
	q.ShutDown()
	if got := depth(t, "reset-test"); got != 1 {
		t.Fatalf("workqueue_depth of the queue: %v, want 1 before the reset", got)
	}
	if err := resetQueueMetrics(); err != nil {
		t.Fatal(err)
	}
	if got := depth(t, "reset-test"); got != 0 {
		t.Errorf("workqueue_depth of the queue: %v, want none after the reset", got)
	}
}

// depth sums workqueue_depth of the queue name.
func depth(t *testing.T, name string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != "workqueue_depth" {
			continue
		}
		for _, m := range f.GetMetric() {
			if label(m, "name") == name {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestLostLeadership(t *testing.T) {
	for err, want := range map[error]bool{
		nil:                                false,
		errors.New("leader election lost"): true,
		errors.New("running the manager: leader election lost"): true,
		errors.New("failed to start HTTP servers"):              false,
	} {
		if got := LostLeadership(err); got != want {
			t.Errorf("LostLeadership(%v) = %t, want %t", err, got, want)
		}
	}
}
