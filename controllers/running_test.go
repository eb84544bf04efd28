package controllers

import (
	"slices"
	"testing"
	"time"
)

func TestRunningSnapshot(t *testing.T) {
	now := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	r := newRunning(func() time.Time { return now })
	enterA, endA := r.begin("office", "zhenping-county", "finalizer")
	now = now.Add(1500 * time.Millisecond)
	_, endB := r.begin("office", "chaopi-town", "finalizer")
	enterA("apply")
	now = now.Add(500 * time.Millisecond)

	want := []string{"office/zhenping-county (apply, for 2s)", "office/chaopi-town (finalizer, for 500ms)"}
	if got := r.snapshot(); !slices.Equal(got, want) {
		t.Fatalf("snapshot = %q, want %q (longest running first, each in its phase)", got, want)
	}
	endA()
	enterA("prune") // after its end: no effect
	if got := r.snapshot(); !slices.Equal(got, want[1:]) {
		t.Fatalf("after one ended, snapshot = %q, want %q", got, want[1:])
	}
	endB()
	if got := r.snapshot(); len(got) != 0 {
		t.Fatalf("after both ended, snapshot = %q, want none", got)
	}
}
