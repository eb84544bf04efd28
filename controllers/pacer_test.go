package controllers

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// TestStatusPacer: a first event is counted after the pacing's Delay, the
// events while a recount is pending are added at its time, and while they
// keep coming recounts are its Interval apart; after a quiet spell
// the delay is short again. Each object is paced on its own.
func TestStatusPacer(t *testing.T) {
	p := &statusPacer{pacing: DefaultStatusPacing}
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	policy := reconcile.Request{NamespacedName: types.NamespacedName{Name: "land-disputes"}}
	other := reconcile.Request{NamespacedName: types.NamespacedName{Name: "personnel"}}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, step := range []struct {
		r    reconcile.Request
		now  float64
		wait float64 // seconds
	}{
		{policy, 0, 2},     // the first event: counted 2 s later
		{policy, 1, 1},     // pending: at the same time
		{other, 1, 2},      // another policy is paced on its own
		{policy, 2.5, 9.5}, // after the recount at 2 s: the next at 12 s
		{policy, 5, 7},
		{policy, 13, 9}, // after 12 s: at 22 s, 10 s later
		{policy, 60, 2}, // after a quiet spell: 2 s again
		{policy, 61, 1}, // pending
	} {
		if d := p.after(step.r, at(step.now)); d != time.Duration(step.wait*float64(time.Second)) {
			t.Errorf("event of %s at %vs: after = %v, want %vs", step.r.Name, step.now, d, step.wait)
		}
	}
}
