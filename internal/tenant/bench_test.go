package tenant

import (
	"fmt"
	"strings"
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
		objs, err := RenderContext(b.Context(), in)
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
				if errs := CheckTenant(b.Context(), o, DefaultLimits()); len(errs) != 1 {
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
		if _, err := RenderContext(b.Context(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// envPatch is a strategic merge patch that adds n env entries, named after
// the patch's index i, to the desk container.
func envPatch(i, n int) v1alpha1.TenantPatch {
	var b strings.Builder
	b.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\nspec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        env:\n")
	for j := range n {
		fmt.Fprintf(&b, "        - {name: E%d_%d, value: x}\n", i, j)
	}
	return v1alpha1.TenantPatch{Patch: b.String()}
}

// annotationsPatch is a strategic merge patch that adds n annotations to
// the Deployment.
func annotationsPatch(i, n int) v1alpha1.TenantPatch {
	var b strings.Builder
	b.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\n  annotations:\n")
	for j := range n {
		fmt.Fprintf(&b, "    a%d-%d: x\n", i, j)
	}
	return v1alpha1.TenantPatch{Patch: b.String()}
}

// worstOffices are the most expensive offices the judge admits, or renders
// before it refuses them, within the bounds of a set of patches
// (MaxPatchesListItems, MaxPatchesNodes, MaxPatchesBytes), and the office
// of the tenant-safety report that those bounds now refuse before any
// render: sixteen patches of 900 env entries each (before: 1.2 s for one,
// 24 s for four, more than twenty CPU-minutes for sixteen).
func worstOffices() map[string][]v1alpha1.TenantPatch {
	var spread, refusedLast, annotations, report []v1alpha1.TenantPatch
	// The report's patches, of 900 env entries each.
	for i := range 16 {
		spread = append(spread, envPatch(i, MaxPatchesListItems/16-1))
		annotations = append(annotations, annotationsPatch(i, MaxPatchesNodes/16/2-8))
		report = append(report, envPatch(i, 900))
	}
	refusedLast = append(refusedLast, spread[:15]...)
	refusedLast = append(refusedLast, deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        image: evil\n"))
	return map[string][]v1alpha1.TenantPatch{
		"env-one-list":       {envPatch(0, MaxPatchesListItems-8)},
		"env-16-patches":     spread,
		"annotations-16":     annotations,
		"refused-last-of-16": refusedLast,
		"report-1x900":       report[:1],
		"report-2x900":       report[:2],
		"report-4x900":       report[:4],
		"report-16x900":      report,
	}
}

// BenchmarkJudgeWorstOffice is what the worst offices cost the webhook
// (CheckTenant); docs/performance.md has the figures.
func BenchmarkJudgeWorstOffice(b *testing.B) {
	for name, patches := range worstOffices() {
		b.Run(name, func(b *testing.B) {
			o := input(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = patches }).Office
			b.ReportAllocs()
			for b.Loop() {
				errs := CheckTenant(b.Context(), o, DefaultLimits())
				if refused := len(errs) > 0; refused != (name == "refused-last-of-16" || strings.HasPrefix(name, "report-")) {
					b.Fatalf("%s: got %v", name, errs)
				}
			}
		})
	}
}
