package tenant

import (
	"testing"
)

// BenchmarkRender is the cost of rendering one office's tenant stack, which
// the operator pays on every reconcile that renders: once per office as a
// network converges, and for every selected office when a RoutingPolicy
// changes.
func BenchmarkRender(b *testing.B) {
	in := input(nil)
	b.ReportAllocs()
	for b.Loop() {
		objs, err := Render(in)
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) != 7 {
			b.Fatalf("rendered %d objects, want 7", len(objs))
		}
	}
}
