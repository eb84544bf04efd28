package xinfang

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// rolloutNetwork is routingNetwork's offices, each Ready for its generation.
func rolloutNetwork() []v1alpha1.Office {
	var out []v1alpha1.Office
	for _, o := range routingNetwork().All() {
		c := o.DeepCopy()
		c.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue}}
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b v1alpha1.Office) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// running makes the named offices run the revision of the policy with
// their tenants rolled out.
func running(offices []v1alpha1.Office, policy, revision string, names ...string) {
	for i := range offices {
		for _, n := range names {
			if offices[i].Name == n {
				offices[i].Status.Routing = &v1alpha1.OfficeRoutingStatus{Policies: []v1alpha1.PolicyRevision{{Name: policy, Revision: revision}}}
				offices[i].Status.Tenant = &v1alpha1.OfficeTenantStatus{RolledOut: true}
			}
		}
	}
}

func stagedPolicy() *v1alpha1.RoutingPolicy {
	p := policy("land", 0, v1alpha1.OfficeSelector{}, rule("land", v1alpha1.RouteTarget{Office: "nanyang"}, "land-acquisition"))
	p.Spec.Rollout = v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged, Stages: []v1alpha1.RolloutStage{
		{Levels: []v1alpha1.Level{v1alpha1.LevelCity}},
		{SubtreeOf: "zhenping"},
		{Percent: ptr.To[int32](100)},
	}, ProgressDeadline: &metav1.Duration{Duration: time.Minute}}
	return &p
}

// step applies StepRollout's result to the policy's status, as the
// controller does, and returns the events' reasons.
func step(p *v1alpha1.RoutingPolicy, offices []v1alpha1.Office, now time.Time) ([]string, RolloutStep) {
	s := StepRollout(p, NetworkOf(offices), now)
	p.Status.Stage, p.Status.Rollout = s.Stage, s.Status
	if s.Completed {
		cur := Revision(&p.Spec)
		p.Status.Stable = &cur
	}
	var reasons []string
	for _, e := range s.Events {
		reasons = append(reasons, e.Reason)
	}
	return reasons, s
}

func TestStepRolloutMovesStageByStage(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	offices := rolloutNetwork()
	p := stagedPolicy()
	rev := Revision(&p.Spec).Revision

	reasons, s := step(p, offices, t0)
	if fmt.Sprint(reasons) != "[RolloutStarted]" || s.Stage != 0 || s.Status.Phase != v1alpha1.RolloutProgressing {
		t.Fatalf("first step: events %v, stage %d, phase %s", reasons, s.Stage, s.Status.Phase)
	}
	if s.Status.Offices != 1 || s.Status.Updated != 0 || fmt.Sprint(s.Status.WaitingFor) != "[nanyang]" || p.Status.Stable != nil {
		t.Fatalf("stage 1: %+v", s.Status)
	}
	if s.Requeue != time.Minute {
		t.Errorf("requeue %s, want the whole deadline", s.Requeue)
	}
	// A new policy reaches no office outside the first stage.
	if got := Entitled(p, &offices[0], []string{"nanyang"}); got == nil || got.Revision != rev {
		t.Errorf("the city is not entitled to the revision in stage 1: %v", got)
	}
	town, _ := NetworkOf(offices).Get("shifosi")
	if got := Entitled(p, town, []string{"nanyang", "zhenping", "shifosi"}); got != nil {
		t.Errorf("a township is entitled to %s before its stage", got.Revision)
	}

	running(offices, "land", rev, "nanyang")
	reasons, s = step(p, offices, t0.Add(10*time.Second))
	if fmt.Sprint(reasons) != "[StageCompleted StageStarted]" || s.Stage != 1 {
		t.Fatalf("after the city: events %v, stage %d", reasons, s.Stage)
	}
	if s.Status.Offices != 4 || s.Status.Updated != 1 || s.Status.StageStartTime.Time != t0.Add(10*time.Second) {
		t.Fatalf("stage 2: %+v", s.Status)
	}
	if got := Entitled(p, town, []string{"nanyang", "zhenping", "shifosi"}); got == nil || got.Revision != rev {
		t.Errorf("shifosi is not entitled in stage 2")
	}

	// Every office of the network runs it: stages 2 and 3 complete in one
	// step, and the revision becomes the stable one.
	var all []string
	for _, o := range offices {
		all = append(all, o.Name)
	}
	running(offices, "land", rev, all...)
	reasons, s = step(p, offices, t0.Add(20*time.Second))
	want := "[StageCompleted StageStarted StageCompleted RolloutComplete]"
	if fmt.Sprint(reasons) != want || s.Stage != 3 || s.Status.Phase != v1alpha1.RolloutComplete {
		t.Fatalf("events %v (want %s), stage %d, phase %s", reasons, want, s.Stage, s.Status.Phase)
	}
	if p.Status.Stable == nil || p.Status.Stable.Revision != rev || s.Status.Offices != 8 || s.Status.Updated != 8 || s.Requeue != 0 {
		t.Fatalf("complete: %+v", s.Status)
	}
	// Steady: nothing more happens.
	if reasons, _ := step(p, offices, t0.Add(time.Hour)); len(reasons) != 0 {
		t.Errorf("a complete rollout stepped: %v", reasons)
	}
}

func TestStepRolloutHaltsPausesAndIsSuperseded(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	offices := rolloutNetwork()
	p := stagedPolicy()
	stable := Revision(&p.Spec)
	p.Status.Rollout = &v1alpha1.RolloutStatus{Revision: stable.Revision, Phase: v1alpha1.RolloutComplete}
	p.Status.Stable = &stable
	p.Status.Stage = 3

	// An edit starts a rollout from the stable revision.
	p.Spec.Rules = []v1alpha1.RoutingRule{rule("land", v1alpha1.RouteTarget{Office: "nanyang-nr"}, "land-acquisition")}
	rev := Revision(&p.Spec).Revision
	step(p, offices, t0)
	town, _ := NetworkOf(offices).Get("shifosi")
	if got := Entitled(p, town, []string{"nanyang", "zhenping", "shifosi"}); got == nil || got.Revision != stable.Revision {
		t.Fatalf("a township outside the reached stage is not kept on the stable revision: %v", got)
	}

	// Past the deadline, the stage halts, once.
	reasons, s := step(p, offices, t0.Add(59*time.Second))
	if len(reasons) != 0 || s.Requeue != time.Second {
		t.Fatalf("before the deadline: events %v, requeue %s", reasons, s.Requeue)
	}
	reasons, s = step(p, offices, t0.Add(61*time.Second))
	if fmt.Sprint(reasons) != "[RolloutHalted]" || s.Status.Phase != v1alpha1.RolloutHalted || s.Requeue != 0 {
		t.Fatalf("at the deadline: events %v, phase %s", reasons, s.Status.Phase)
	}
	// A halt holds when the stage becomes healthy.
	running(offices, "land", rev, "nanyang")
	if reasons, s = step(p, offices, t0.Add(2*time.Minute)); len(reasons) != 0 || s.Status.Phase != v1alpha1.RolloutHalted || s.Stage != 0 {
		t.Fatalf("halted: events %v, phase %s, stage %d", reasons, s.Status.Phase, s.Stage)
	}

	// Pausing changes no revision; resuming restarts the deadline and
	// moves on.
	p.Spec.Rollout.Paused = true
	p.Generation++
	if Revision(&p.Spec).Revision != rev {
		t.Fatal("spec.rollout.paused changed the revision")
	}
	if reasons, s = step(p, offices, t0.Add(3*time.Minute)); fmt.Sprint(reasons) != "[RolloutPaused]" || s.Status.Phase != v1alpha1.RolloutPaused {
		t.Fatalf("paused: events %v, phase %s", reasons, s.Status.Phase)
	}
	p.Spec.Rollout.Paused = false
	p.Generation++
	reasons, s = step(p, offices, t0.Add(4*time.Minute))
	if fmt.Sprint(reasons) != "[RolloutResumed StageCompleted StageStarted]" || s.Stage != 1 || s.Status.StageStartTime.Time != t0.Add(4*time.Minute) {
		t.Fatalf("resumed: events %v, stage %d", reasons, s.Stage)
	}

	// A new edit supersedes the rollout: back to the first stage, from
	// the same stable revision.
	p.Spec.Rules[0].RouteTo.Office = "zhenping-nr"
	reasons, s = step(p, offices, t0.Add(5*time.Minute))
	if fmt.Sprint(reasons) != "[RolloutSuperseded]" || s.Stage != 0 || p.Status.Stable.Revision != stable.Revision {
		t.Fatalf("superseded: events %v, stage %d, stable %s", reasons, s.Stage, p.Status.Stable.Revision)
	}
	// Reverting to the stable revision completes at once.
	p.Spec.Rules = stable.Rules
	reasons, s = step(p, offices, t0.Add(6*time.Minute))
	if s.Status.Phase != v1alpha1.RolloutComplete || s.Stage != 3 || fmt.Sprint(reasons) != "[RolloutSuperseded]" {
		t.Fatalf("reverted: events %v, phase %s, stage %d", reasons, s.Status.Phase, s.Stage)
	}
}

func TestHaltedRolloutIsRetriedAfterAnEdit(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	offices := rolloutNetwork()
	p := stagedPolicy()
	p.Generation = 1
	step(p, offices, t0)
	if reasons, s := step(p, offices, t0.Add(2*time.Minute)); fmt.Sprint(reasons) != "[RolloutHalted]" || s.Status.HaltedGeneration != 1 {
		t.Fatalf("events %v, halted at generation %d", reasons, s.Status.HaltedGeneration)
	}
	// A pause and a resume too fast to be seen, or a new deadline: the
	// generation moved on, so the stage is tried again with a new clock.
	p.Generation = 3
	reasons, s := step(p, offices, t0.Add(3*time.Minute))
	if fmt.Sprint(reasons) != "[RolloutResumed]" || s.Status.Phase != v1alpha1.RolloutProgressing || s.Requeue != time.Minute || s.Status.HaltedGeneration != 0 {
		t.Fatalf("after an edit: events %v, phase %s, requeue %s", reasons, s.Status.Phase, s.Requeue)
	}
}

func TestImmediateAndDeclaredPoliciesReachEveryOffice(t *testing.T) {
	offices := rolloutNetwork()
	p := stagedPolicy()
	i := slices.IndexFunc(offices, func(o v1alpha1.Office) bool { return o.Name == "tuandong" })
	town := &offices[i]
	path := []string{"nanyang", "neixiang", "tuandong"}
	declared := Declared([]v1alpha1.RoutingPolicy{*p})
	if got := Entitled(&declared[0], town, path); got == nil || got.Revision != Revision(&p.Spec).Revision {
		t.Errorf("a declared policy does not reach every office")
	}
	if p.Status.Rollout != nil {
		t.Error("Declared changed its input")
	}
	p.Spec.Rollout = v1alpha1.Rollout{}
	if got := Entitled(p, town, path); got == nil {
		t.Error("an Immediate policy does not reach every office")
	}
	_, s := step(p, offices, time.Now())
	if s.Status.Phase != v1alpha1.RolloutComplete || p.Status.Stable == nil || s.Stage != 0 || len(s.Events) != 0 {
		t.Errorf("Immediate: %+v", s)
	}
}

func TestBucketIsStableAndSpread(t *testing.T) {
	// Pinned (FNV-1a of the name, mod 100): a change of the hash would move
	// offices between stages under running rollouts.
	if a, b := Bucket("zhenping-county"), Bucket("nanyang-city"); a != 37 || b != 65 {
		t.Fatalf("Bucket(zhenping-county) = %d, Bucket(nanyang-city) = %d; want 37 and 65", a, b)
	}
	in := 0
	for i := range 2000 {
		if Bucket(fmt.Sprintf("town-%04d", i)) < 30 {
			in++
		}
	}
	if in < 500 || in > 700 {
		t.Errorf("30%% of 2000 offices is %d", in)
	}
}

func TestStageProgress(t *testing.T) {
	staged := &v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged, Stages: make([]v1alpha1.RolloutStage, 3)}
	for _, tc := range []struct {
		stage int32
		r     *v1alpha1.Rollout
		want  string
	}{
		{0, staged, "1/3"},
		{1, staged, "2/3"},
		{2, staged, "3/3"},
		{3, staged, "3/3"}, // complete
		{0, &v1alpha1.Rollout{Strategy: v1alpha1.RolloutImmediate}, ""},
		{0, nil, ""},
	} {
		if got := StageProgress(tc.stage, tc.r); got != tc.want {
			t.Errorf("StageProgress(%d, %+v) = %q, want %q", tc.stage, tc.r, got, tc.want)
		}
	}
}

// TestRolloutHeldAndRetriedByAnnotations pauses, resumes and retries a
// staged rollout through the annotations alone: the spec, which a GitOps
// tool owns, is never edited and the generation never moves.
func TestRolloutHeldAndRetriedByAnnotations(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	offices := rolloutNetwork()
	p := stagedPolicy()
	p.Generation = 1
	step(p, offices, t0)
	if reasons, s := step(p, offices, t0.Add(2*time.Minute)); fmt.Sprint(reasons) != "[RolloutHalted]" {
		t.Fatalf("events %v, phase %s", reasons, s.Status.Phase)
	}
	// A retry tries the halted stage again with a new clock, once.
	p.Annotations = map[string]string{v1alpha1.AnnotationRolloutRetry: "2026-11-02T09:03:00Z"}
	reasons, s := step(p, offices, t0.Add(3*time.Minute))
	if fmt.Sprint(reasons) != "[RolloutResumed]" || s.Status.Phase != v1alpha1.RolloutProgressing || s.Requeue != time.Minute ||
		s.Status.Retried != "2026-11-02T09:03:00Z" {
		t.Fatalf("retried: events %v, phase %s, requeue %s, retried %q", reasons, s.Status.Phase, s.Requeue, s.Status.Retried)
	}
	if reasons, s = step(p, offices, t0.Add(5*time.Minute)); fmt.Sprint(reasons) != "[RolloutHalted]" {
		t.Fatalf("halted again: events %v, phase %s", reasons, s.Status.Phase)
	}
	// The same annotation does not try it again; a new value does.
	if reasons, s = step(p, offices, t0.Add(6*time.Minute)); len(reasons) != 0 || s.Status.Phase != v1alpha1.RolloutHalted {
		t.Fatalf("a spent retry: events %v, phase %s", reasons, s.Status.Phase)
	}
	p.Annotations[v1alpha1.AnnotationRolloutRetry] = "2026-11-02T09:07:00Z"
	if reasons, s = step(p, offices, t0.Add(7*time.Minute)); fmt.Sprint(reasons) != "[RolloutResumed]" {
		t.Fatalf("a second retry: events %v, phase %s", reasons, s.Status.Phase)
	}

	// The pause annotation pauses and says so; only "true" counts.
	p.Annotations[v1alpha1.AnnotationRolloutPaused] = "yes"
	if reasons, s = step(p, offices, t0.Add(7*time.Minute+30*time.Second)); s.Status.Phase != v1alpha1.RolloutProgressing {
		t.Fatalf("paused by %q: events %v, phase %s", "yes", reasons, s.Status.Phase)
	}
	p.Annotations[v1alpha1.AnnotationRolloutPaused] = "true"
	reasons, s = step(p, offices, t0.Add(7*time.Minute+40*time.Second))
	if fmt.Sprint(reasons) != "[RolloutPaused]" || s.Status.Phase != v1alpha1.RolloutPaused || s.PausedBy != "annotation petition.xinfang.io/rollout-paused" ||
		!strings.Contains(s.Events[0].Message, "(annotation petition.xinfang.io/rollout-paused)") {
		t.Fatalf("paused: events %v, phase %s, by %q", s.Events, s.Status.Phase, s.PausedBy)
	}
	// The spec's pause is named first when both hold.
	p.Spec.Rollout.Paused = true
	if _, s = step(p, offices, t0.Add(10*time.Minute)); s.PausedBy != "spec.rollout.paused" {
		t.Fatalf("paused by both: by %q", s.PausedBy)
	}
	p.Spec.Rollout.Paused = false
	// Resumed by taking the annotation away.
	delete(p.Annotations, v1alpha1.AnnotationRolloutPaused)
	if reasons, s = step(p, offices, t0.Add(11*time.Minute)); fmt.Sprint(reasons) != "[RolloutResumed]" || s.Status.Phase != v1alpha1.RolloutProgressing {
		t.Fatalf("resumed: events %v, phase %s", reasons, s.Status.Phase)
	}
	if p.Generation != 1 {
		t.Fatalf("generation moved to %d", p.Generation)
	}
}

func TestHoldOfBoundsTheRetryToken(t *testing.T) {
	h := HoldOf(nil, map[string]string{v1alpha1.AnnotationRolloutRetry: strings.Repeat("时", 30)})
	if len(h.Retry) > 64 || !utf8.ValidString(h.Retry) || h.PausedBy != "" {
		t.Errorf("HoldOf = %+v (%d bytes)", h, len(h.Retry))
	}
}
