package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/tenant"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// The poison offices, under the City, and the bounds of the test.
const (
	// poisonRender has a tenant patch that removes a path that does not
	// exist: its stack can never render.
	poisonRender = "poison-render"
	// poisonRefused renders, but a ValidatingAdmissionPolicy of the
	// cluster refuses its Service (403 Forbidden) on every try.
	poisonRefused = "poison-refused"
	// convergeNoise is how much slower the network may converge beside
	// the poison offices: 25 % or 10 s, whichever is more.
	convergeNoisePct = 25
	convergeNoiseMin = 10 * time.Second
)

// poisonRun is what one run of the network measured.
type poisonRun struct {
	converge time.Duration
}

// TestPoison converges the same network of -chaos.poison-offices offices
// twice, each on a control plane of its own: alone, then beside two offices
// that can never be Ready (small, the two runs go side by side, so that the
// machine's load is the same for both). One can never render (a JSON6902 patch removing a
// path that does not exist, which the webhooks refuse today: it is stored
// before the operator starts, as one arrives that no webhook judged): it is
// Stalled with reason RenderFailed and,
// as only a change of its spec can fix it, it is not retried at all until
// its spec changes. The other is refused by the API server on every apply
// (a ValidatingAdmissionPolicy of the cluster forbids its Service, 403): its reconciles back off
// exponentially. The rest of the network converges as fast as without them.
func TestPoison(t *testing.T) {
	parallelWhenSmall(t)
	var without, with poisonRun
	// Once both runs are over: parallel subtests run after this function
	// returns, its cleanups after them.
	t.Cleanup(func() {
		if t.Failed() || without.converge == 0 || with.converge == 0 {
			// Failed, or one of the two left out by -run.
			return
		}
		bound := without.converge + max(without.converge*convergeNoisePct/100, convergeNoiseMin)
		t.Logf("%d offices converged in %ss alone and in %ss beside the poison offices (bound %ss: +%d%% or +%s)",
			options.poisonOffices, seconds(without.converge), seconds(with.converge), seconds(bound), convergeNoisePct, convergeNoiseMin)
		if with.converge > bound {
			t.Errorf("beside the poison offices the network converged in %s, want at most %s", with.converge.Round(100*time.Millisecond), bound.Round(100*time.Millisecond))
		}
		fmt.Printf("CHAOS poison offices=%d converge_alone_s=%s converge_beside_poison_s=%s\n",
			options.poisonOffices, seconds(without.converge), seconds(with.converge))
	})
	t.Run("without", func(t *testing.T) {
		parallelWhenSmall(t)
		without = runPoison(t, false)
	})
	if t.Failed() {
		// At full size, where the runs go one after the other.
		return
	}
	t.Run("with", func(t *testing.T) {
		parallelWhenSmall(t)
		with = runPoison(t, true)
	})
}

func runPoison(t *testing.T, poison bool) poisonRun {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	name := "poison-without"
	if poison {
		name = "poison-with"
	}
	cl := newCluster(t, name)
	net := generate(t, options.poisonOffices, "")
	city := net.Offices[0].Name
	render := poisonOffice(net.Offices[0].Spec.CalendarRef, poisonRender, city, "PoisonRender")
	render.Spec.Tenant.Patches = []v1alpha1.TenantPatch{{Patch: `[{"op": "remove", "path": "/spec/nothing-here"}]`,
		Target: &v1alpha1.PatchTarget{Kind: "Deployment", Name: "desk"}}}
	if poison {
		// The office that can never render arrives as such an office
		// really does, where no webhook judged it: stored while the
		// operator's webhooks were not installed (before its first start,
		// or run with them off), or by an older version with fewer rules.
		// The other office's Service is refused by the cluster's own
		// admission policy, as a Kyverno or Gatekeeper rule might.
		if _, err := createAll(ctx, cl.c, append([]client.Object{render.DeepCopy()}, refuseServices(tenant.Namespace(poisonRefused))...), 1); err != nil {
			t.Fatal(err)
		}
	}
	// controller-runtime logs each reconcile at level 5: the test reads
	// the poison offices' from the manager's log. Both runs log alike.
	op := cl.startOperator(ctx, name, testenv.ManagerOptions{LogLevel: "5", Args: defaultArgs("--zap-time-encoding=rfc3339nano")})
	w := watchOffices(t, cl.c)
	if _, err := createAll(ctx, cl.c, policies(net), 1); err != nil {
		t.Fatal(err)
	}
	all := offices(net)
	want := names(all)
	if poison {
		// Right after the City, so that it is there all along.
		refused := poisonOffice(net.Offices[0].Spec.CalendarRef, poisonRefused, city, "PoisonRefused")
		all = append([]client.Object{all[0], refused}, all[1:]...)
	}
	start := time.Now()
	if _, err := createAll(ctx, cl.c, all, 4); err != nil {
		t.Fatal(err)
	}
	last, err := w.waitReady(ctx, t, want, 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	run := poisonRun{converge: last.Sub(start)}
	t.Logf("%d offices Ready %ss after the first was created", len(want), seconds(run.converge))
	if !poison {
		return run
	}
	// The webhooks would refuse it now: the test's poison is one no
	// admission lets in, only the way around it.
	again := render.DeepCopy()
	again.Name = poisonRender + "-again"
	err = cl.c.Create(ctx, again, client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), "spec.tenant.patches[0]") {
		t.Errorf("a dry-run create of an office like %s: want it refused at spec.tenant.patches[0], got %v", poisonRender, err)
	}

	if err := w.waitFor(ctx, poisonRender, time.Minute, func(o *v1alpha1.Office) bool {
		return hasCondition(o, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonRenderFailed) &&
			hasCondition(o, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonRenderFailed)
	}); err != nil {
		t.Errorf("want %s Stalled and not Ready with reason RenderFailed: %v", poisonRender, err)
	}
	if err := w.waitFor(ctx, poisonRefused, time.Minute, func(o *v1alpha1.Office) bool {
		return hasCondition(o, v1alpha1.ConditionReconciling, metav1.ConditionTrue, "") &&
			hasCondition(o, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonApplyFailed)
	}); err != nil {
		t.Errorf("want %s Reconciling and not Ready with reason ApplyFailed: %v", poisonRefused, err)
	}
	// While the network converges, a retry waits behind hundreds of
	// queued offices; once the queue is empty, what is left between two
	// reconciles of the refused office is its back-off. Watch it until
	// it has grown past backoffPast (10 s; small, 2 s), at most 4 minutes
	// more.
	backoffPast := size().backoffPast
	if err := op.m.WaitIdle(ctx, 0, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	idle := time.Now()
	logPath := op.logPath(1)
	var refusedTimes, refusedIdle []time.Time
	for deadline := time.Now().Add(4 * time.Minute); ; {
		times, err := reconcileTimes(logPath)
		if err != nil {
			t.Fatal(err)
		}
		refusedTimes = times[poisonRefused]
		refusedIdle = nil
		for _, ts := range refusedTimes {
			if ts.After(idle) {
				refusedIdle = append(refusedIdle, ts)
			}
		}
		iv := intervals(refusedIdle)
		if len(iv) >= 4 && iv[len(iv)-1] >= backoffPast || time.Now().After(deadline) {
			break
		}
		if err := sleep(ctx, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	times, err := reconcileTimes(logPath)
	if err != nil {
		t.Fatal(err)
	}
	renderTimes := times[poisonRender]
	observed := time.Since(start)
	iv := intervals(refusedIdle)
	t.Logf("%s (refused by the API server): %d reconciles in %ss; intervals while the network converged (queue wait included): %s; once the queue was empty (%ss in): %s",
		poisonRefused, len(refusedTimes), seconds(observed), formatIntervals(intervals(refusedTimes[:len(refusedTimes)-len(refusedIdle)])),
		seconds(idle.Sub(start)), formatIntervals(iv))
	t.Logf("%s (cannot render): %d reconciles in %ss, at %s; none in the last %ss",
		poisonRender, len(renderTimes), seconds(observed), formatOffsets(renderTimes, start), seconds(time.Since(lastTime(renderTimes))))
	families, err := op.m.Scrape()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("petition_reconcile_errors_total{controller=office}: RenderFailed %.0f, ApplyFailed %.0f",
		testenv.Sum(families, "petition_reconcile_errors_total", map[string]string{"controller": "office", "reason": v1alpha1.ReasonRenderFailed}),
		testenv.Sum(families, "petition_reconcile_errors_total", map[string]string{"controller": "office", "reason": v1alpha1.ReasonApplyFailed}))
	// A Stalled office is not retried until its spec changes: it is
	// reconciled for the events of its neighbours while the network
	// converges (how many depends on the machine's pace), never once the
	// queue is empty.
	var renderIdle int
	for _, at := range renderTimes {
		if at.After(idle) {
			renderIdle++
		}
	}
	if len(renderTimes) == 0 || len(renderTimes) > 10 || renderIdle > 0 {
		t.Errorf("%s was reconciled %d times, %d of them once the queue was empty; want 1 to 10, none once it was empty: a Stalled office is not retried until its spec changes", poisonRender, len(renderTimes), renderIdle)
	}
	if len(refusedTimes) > 40 {
		t.Errorf("%s was reconciled %d times in %s: not an exponential back-off", poisonRefused, len(refusedTimes), observed.Round(time.Second))
	}
	if len(iv) < 4 || iv[len(iv)-1] < backoffPast {
		t.Errorf("%s: once the queue was empty, the interval between its reconciles did not grow past %s: %s", poisonRefused, backoffPast, formatIntervals(iv))
	}
	// Each retry waits twice as long as the one before (controller-runtime's
	// per-item back-off: 5 ms × 2^failures, up to 1000 s); each interval
	// also holds one reconcile's run, so the median ratio of successive
	// intervals is what is checked.
	if r := medianRatio(iv); r < 1.5 {
		t.Errorf("%s: the intervals between its reconciles grow by a median factor of %.2f, want at least 1.5 (exponential): %s", poisonRefused, r, formatIntervals(iv))
	} else {
		t.Logf("%s: once the queue was empty, successive intervals grow by a median factor of %.2f", poisonRefused, r)
	}

	// A change of its spec brings the Stalled office back.
	office := &v1alpha1.Office{}
	if err := cl.c.Get(ctx, client.ObjectKey{Name: poisonRender}, office); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(office.DeepCopy())
	office.Spec.Tenant.Patches = nil
	fixed := time.Now()
	if err := cl.c.Patch(ctx, office, patch); err != nil {
		t.Fatal(err)
	}
	if err := w.waitFor(ctx, poisonRender, time.Minute, officeReady); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s Ready %ss after its patch was removed", poisonRender, seconds(time.Since(fixed)))
	report, err := checkInventory(ctx, cl.c, func(o *v1alpha1.Office) bool { return o.Name == poisonRefused })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inventory: %s", report.summary())
	if problems := report.problems(); len(problems) > 0 {
		t.Errorf("%d problems in the inventory:\n%s", len(problems), firstN(problems))
	}
	fmt.Printf("CHAOS poison-offices render_reconciles=%d refused_reconciles=%d refused_intervals_s=%q\n",
		len(renderTimes), len(refusedTimes), formatIntervals(iv))
	return run
}

// refuseServices returns a ValidatingAdmissionPolicy and its binding that
// refuse every create and update of a Service in namespace, with 403
// Forbidden: what the API server says of a write a policy forbids, and
// retried, unlike an invalid object.
func refuseServices(namespace string) []client.Object {
	name := "refuse-services-" + namespace
	forbidden := metav1.StatusReasonForbidden
	return []client.Object{
		&admissionregistrationv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: ptr.To(admissionregistrationv1.Fail),
				MatchConstraints: &admissionregistrationv1.MatchResources{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: namespace}},
					ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"services"}},
					}}},
				},
				Validations: []admissionregistrationv1.Validation{{Expression: "false", Reason: &forbidden,
					Message: "Services are not allowed in " + namespace}},
			},
		},
		&admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name,
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
		},
	}
}

// poisonOffice returns a Department under parent.
func poisonOffice(calendar v1alpha1.ObjectName, name, parent string, code v1alpha1.DepartmentCode) *v1alpha1.Office {
	return &v1alpha1.Office{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.OfficeSpec{
			Level: v1alpha1.LevelDepartment, Parent: v1alpha1.OfficeName(parent), Department: code,
			DisplayName: name, CalendarRef: calendar,
		},
	}
}

// reconcileTimes reads, from a manager's log at level 5, when the office
// controller began each reconcile, by office.
func reconcileTimes(path string) (map[string][]time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	out := map[string][]time.Time{}
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<24)
	for s.Scan() {
		line := s.Bytes()
		if !strings.Contains(string(line), `"Reconciling"`) {
			continue
		}
		var e struct {
			Msg        string `json:"msg"`
			Controller string `json:"controller"`
			Name       string `json:"name"`
			TS         string `json:"ts"`
		}
		if json.Unmarshal(line, &e) != nil || e.Msg != "Reconciling" || e.Controller != "office" {
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, e.TS)
		if err != nil {
			return nil, fmt.Errorf("%s: ts %q: %w", path, e.TS, err)
		}
		out[e.Name] = append(out[e.Name], ts)
	}
	return out, s.Err()
}

func intervals(times []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(times); i++ {
		out = append(out, times[i].Sub(times[i-1]))
	}
	return out
}

// medianRatio is the median of iv[i]/iv[i-1].
func medianRatio(iv []time.Duration) float64 {
	var ratios []float64
	for i := 1; i < len(iv); i++ {
		if iv[i-1] > 0 {
			ratios = append(ratios, float64(iv[i])/float64(iv[i-1]))
		}
	}
	if len(ratios) == 0 {
		return 0
	}
	slices.Sort(ratios)
	return ratios[len(ratios)/2]
}

func formatIntervals(iv []time.Duration) string {
	parts := make([]string, len(iv))
	for i, d := range iv {
		switch {
		case d < time.Second:
			parts[i] = fmt.Sprintf("%dms", d.Milliseconds())
		default:
			parts[i] = seconds(d) + "s"
		}
	}
	return strings.Join(parts, ", ")
}

func formatOffsets(times []time.Time, start time.Time) string {
	parts := make([]string, len(times))
	for i, ts := range times {
		parts[i] = seconds(ts.Sub(start)) + "s"
	}
	return strings.Join(parts, ", ")
}

func lastTime(times []time.Time) time.Time {
	if len(times) == 0 {
		return time.Time{}
	}
	return times[len(times)-1]
}
