package tenant

import (
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
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
		if len(objs) != 9 {
			b.Fatalf("rendered %d objects, want 9", len(objs))
		}
	}
}

// BenchmarkJudgeBombs is what the patch bombs of the tenant-safety report
// cost the webhook (CheckTenant) to refuse: before these checks, the
// operator rendered them (anchors of depth 6: 6 s and 440 MiB; 14 copies:
// 74 s and 2.5 GiB).
func BenchmarkJudgeBombs(b *testing.B) {
	for name, p := range map[string]v1alpha1.TenantPatch{"anchors-9": anchorBomb(9), "copies-20": copyBomb(20), "copies-8": copyBomb(8)} {
		b.Run(name, func(b *testing.B) {
			o := input(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{p} }).Office
			b.ReportAllocs()
			for b.Loop() {
				if errs := CheckTenant(o, DefaultLimits()); len(errs) != 1 {
					b.Fatalf("want the patch refused, got %v", errs)
				}
			}
		})
	}
}

// BenchmarkRenderWithPatches is the render of an office with a benign patch:
// the stack is rendered twice, with and without the patches, to compare.
func BenchmarkRenderWithPatches(b *testing.B) {
	in := input(func(o *v1alpha1.Office) {
		o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{deploymentPatch("  annotations:\n    team: land\n")}
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(in); err != nil {
			b.Fatal(err)
		}
	}
}
