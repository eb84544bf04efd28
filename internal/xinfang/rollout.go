package xinfang

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Revision returns what offices compile of a policy's spec, with its hash.
// Fields that say how a change rolls out (spec.rollout) are not part of it:
// pausing a rollout changes no revision.
func Revision(spec *v1alpha1.RoutingPolicySpec) v1alpha1.RoutingPolicyRevision {
	r := v1alpha1.RoutingPolicyRevision{Priority: spec.Priority, OfficeSelector: spec.OfficeSelector, Rules: spec.Rules}
	hash, err := Hash(r)
	if err != nil {
		// The API types always marshal.
		panic(fmt.Sprintf("hashing a routing policy revision: %v", err))
	}
	r.Revision = hash
	return r
}

// maxRetryToken bounds the rollout-retry annotation's value kept in status.
const maxRetryToken = 64

// RolloutHold is what holds or retries a rollout besides its spec: the
// annotations of the object (v1alpha1.AnnotationRolloutPaused and
// AnnotationRolloutRetry).
type RolloutHold struct {
	// PausedBy says what pauses the rollout ("spec.rollout.paused" or the
	// annotation); empty when nothing does.
	PausedBy string
	// Retry is the retry annotation's value, cut to 64 bytes; empty for
	// none.
	Retry string
}

// HoldOf reads what pauses or retries the rollout r of an object with
// these annotations.
func HoldOf(r *v1alpha1.Rollout, annotations map[string]string) RolloutHold {
	var h RolloutHold
	switch {
	case r != nil && r.Paused:
		h.PausedBy = "spec.rollout.paused"
	case annotations[v1alpha1.AnnotationRolloutPaused] == "true":
		h.PausedBy = "annotation " + v1alpha1.AnnotationRolloutPaused
	}
	h.Retry = annotations[v1alpha1.AnnotationRolloutRetry]
	if len(h.Retry) > maxRetryToken {
		h.Retry = strings.ToValidUTF8(h.Retry[:maxRetryToken], "")
	}
	return h
}

// staged reports whether a rollout goes in stages.
func staged(r *v1alpha1.Rollout) bool {
	return r.Strategy == v1alpha1.RolloutStaged && len(r.Stages) > 0
}

// Entitled returns the revision of the policy that the office compiles: the
// current one, unless a staged rollout of it has not reached the office, in
// which case the last one rolled out to every office (nil when there is
// none: a new policy reaches no office before its first stage). It reads
// the policy's status, which the policy's controller keeps.
func Entitled(p *v1alpha1.RoutingPolicy, office *v1alpha1.Office, path []string) *v1alpha1.RoutingPolicyRevision {
	cur := Revision(&p.Spec)
	stable := ""
	if st := p.Status.Stable; st != nil {
		stable = st.Revision
	}
	if entitlesCurrent(&p.Spec.Rollout, p.Status.Rollout, p.Status.Stage, cur.Revision, stable, office, path) {
		return &cur
	}
	return p.Status.Stable
}

// entitlesCurrent reports whether the office compiles the current revision
// of an object that rolls out as r says (a RoutingPolicy, a DutyPeriod)
// rather than its stable one (stable, "" for none): always for an
// Immediate rollout; for a Staged one, once the rollout of cur, as its
// status st and stage say, has reached the office, or when cur is the
// stable revision.
func entitlesCurrent(r *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, stage int32, cur, stable string, office *v1alpha1.Office, path []string) bool {
	return !staged(r) || reached(r, st, stage, cur, office, path) || stable == cur
}

// reached reports whether the rollout of revision, as its status says, has
// reached the office.
func reached(r *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, stage int32, revision string, office *v1alpha1.Office, path []string) bool {
	return st != nil && st.Revision == revision &&
		(st.Phase == v1alpha1.RolloutComplete || StageOf(r.Stages, office, path) <= int(stage))
}

// Declared returns copies of the policies whose status says that their
// current revision is rolled out everywhere: what the network compiles to
// once every rollout is complete, and how files without status are read.
func Declared(policies []v1alpha1.RoutingPolicy) []v1alpha1.RoutingPolicy {
	out := make([]v1alpha1.RoutingPolicy, len(policies))
	for i := range policies {
		out[i] = policies[i]
		out[i].Status.Rollout = completed(Revision(&policies[i].Spec).Revision)
	}
	return out
}

// completed is the status of a rollout of revision that is complete.
func completed(revision string) *v1alpha1.RolloutStatus {
	return &v1alpha1.RolloutStatus{Revision: revision, Phase: v1alpha1.RolloutComplete}
}

// StageOf returns the index of the first stage the office is in, or
// len(stages) when it is in none: such an office gets a new revision when
// the last stage is healthy.
func StageOf(stages []v1alpha1.RolloutStage, office *v1alpha1.Office, path []string) int {
	for i := range stages {
		if InStage(&stages[i], office, path) {
			return i
		}
	}
	return len(stages)
}

// InStage reports whether the office is in the stage: every given field
// holds.
func InStage(s *v1alpha1.RolloutStage, office *v1alpha1.Office, path []string) bool {
	if len(s.Levels) > 0 && !slices.Contains(s.Levels, office.Spec.Level) {
		return false
	}
	if s.SubtreeOf != "" && !slices.Contains(path, string(s.SubtreeOf)) {
		return false
	}
	return s.Percent == nil || Bucket(office.Name) < int(*s.Percent)
}

// Bucket places an office in one of 100 buckets by a hash of its name: a
// stage of percent p holds the offices of buckets below p, the same ones on
// every run.
func Bucket(office string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(office))
	return int(h.Sum32() % 100)
}

// RunsRevision reports whether the office runs the given revision of a
// RoutingPolicy: it is Ready for its current generation, its compiled
// configuration holds that revision (or, for revision "", no rules of the
// policy), and its tenant Deployment has rolled that configuration out.
func RunsRevision(o *v1alpha1.Office, policy, revision string) bool {
	r := o.Status.Routing
	if r == nil || !officeCurrent(o) {
		return false
	}
	return revisionOf(r.Policies, policy) == revision
}

// revisionOf returns the revision of the named object in revs, "" when
// they do not name it.
func revisionOf(revs []v1alpha1.PolicyRevision, name string) string {
	for _, rev := range revs {
		if rev.Name == name {
			return rev.Revision
		}
	}
	return ""
}

// officeCurrent reports whether the office's status is Ready for its
// current generation.
func officeCurrent(o *v1alpha1.Office) bool {
	return o.Status.ObservedGeneration == o.Generation && apimeta.IsStatusConditionTrue(o.Status.Conditions, v1alpha1.ConditionReady)
}

// rolledOut reports whether the office's tenant runs its compiled
// configuration.
func rolledOut(o *v1alpha1.Office) bool {
	return o.Status.Tenant != nil && o.Status.Tenant.RolledOut
}

// RolloutStep is what a rollout's controller does next: the rollout status
// to record, the events of the transitions it made, and when to look again
// if nothing else changes.
type RolloutStep struct {
	Stage  int32
	Status *v1alpha1.RolloutStatus
	Events []RolloutEvent
	// Requeue is when the progress deadline of the stage in progress
	// expires; zero when no deadline is running.
	Requeue time.Duration
	// Completed is true when the revision runs everywhere: it is the stable
	// one from now on.
	Completed bool
	// PausedBy says what pauses the rollout, when its phase is Paused.
	PausedBy string
}

// RolloutEvent is a transition of a rollout.
type RolloutEvent struct {
	Warning bool
	Reason  string
	Message string
}

// The reasons of rollout events.
const (
	EventRolloutStarted    = "RolloutStarted"
	EventRolloutSuperseded = "RolloutSuperseded"
	EventStageStarted      = "StageStarted"
	EventStageCompleted    = "StageCompleted"
	EventRolloutComplete   = "RolloutComplete"
	EventRolloutPaused     = "RolloutPaused"
	EventRolloutResumed    = "RolloutResumed"
	EventRolloutHalted     = "RolloutHalted"
)

// maxWaitingListed bounds status.rollout.waitingFor.
const maxWaitingListed = 10

// rolloutSubject is what a staged rollout moves to the offices: a revision
// of a RoutingPolicy or the default tenant image.
type rolloutSubject struct {
	rollout *v1alpha1.Rollout
	// hold is what pauses or retries it besides the spec.
	hold RolloutHold
	// generation of the object whose spec holds rollout.
	generation int64
	// revision being rolled out, and stable, the one every office ran last
	// ("" for none).
	revision, stable string
	// concerns reports whether the rollout concerns an office (suspended
	// offices never are); runs whether the office runs the revision, its
	// tenant rolled out. path is the office's path.
	concerns func(o *v1alpha1.Office, path []string) bool
	runs     func(o *v1alpha1.Office, path []string) bool
}

// StepRollout moves the policy's rollout on from its recorded status, given
// the network and the time: it starts a rollout for a new revision
// (superseding one in progress), completes stages whose offices all run the
// revision, starts the next, and halts a stage past its progress deadline.
// An Immediate policy's rollout is complete at once. The step's Completed
// says that the current revision is now the stable one.
func StepRollout(p *v1alpha1.RoutingPolicy, idx *Network, now time.Time) RolloutStep {
	return stepRollout(policySubject(p), p.Status.Rollout, p.Status.Stage, idx, now)
}

// policySubject is the rollout of the policy's current revision.
func policySubject(p *v1alpha1.RoutingPolicy) *rolloutSubject {
	var stable *selectedRevision
	if st := p.Status.Stable; st != nil {
		stable = &selectedRevision{revision: st.Revision, selector: &st.OfficeSelector}
	}
	s := selectorSubject(&p.Spec.Rollout, p.Generation, selectedRevision{Revision(&p.Spec).Revision, &p.Spec.OfficeSelector}, stable,
		func(o *v1alpha1.Office, revision string) bool { return RunsRevision(o, p.Name, revision) })
	s.hold = HoldOf(&p.Spec.Rollout, p.Annotations)
	return s
}

// selectedRevision is a revision of an object that offices compile when its
// selector selects them.
type selectedRevision struct {
	revision string
	selector *v1alpha1.OfficeSelector
}

// selectorSubject is the rollout of the current revision cur of an object
// whose selector picks the offices that compile it (a RoutingPolicy, a
// DutyPeriod), from its stable revision (nil for none). runs reports
// whether an office's status says it compiled the given revision of the
// object ("" for none of it).
func selectorSubject(r *v1alpha1.Rollout, generation int64, cur selectedRevision, stable *selectedRevision, runs func(o *v1alpha1.Office, revision string) bool) *rolloutSubject {
	s := &rolloutSubject{rollout: r, generation: generation, revision: cur.revision,
		concerns: func(o *v1alpha1.Office, path []string) bool {
			return Selects(cur.selector, o, path) || (stable != nil && Selects(stable.selector, o, path))
		},
		runs: func(o *v1alpha1.Office, path []string) bool {
			// An office the revision does not select runs it when it
			// compiles none of the object.
			want := cur.revision
			if !Selects(cur.selector, o, path) {
				want = ""
			}
			return runs(o, want) && rolledOut(o)
		},
	}
	if stable != nil {
		s.stable = stable.revision
	}
	return s
}

// stepRollout is StepRollout for any subject.
func stepRollout(s *rolloutSubject, prev *v1alpha1.RolloutStatus, prevStage int32, idx *Network, now time.Time) RolloutStep {
	st := &v1alpha1.RolloutStatus{Phase: v1alpha1.RolloutProgressing}
	if prev != nil {
		st = prev.DeepCopy()
	}
	step := RolloutStep{Stage: prevStage, Status: st}
	event := func(warning bool, reason, format string, args ...any) {
		step.Events = append(step.Events, RolloutEvent{Warning: warning, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	stages := s.rollout.Stages
	st.Stages = int32(len(stages))
	nowT := metav1.NewTime(now)
	all := func(o *v1alpha1.Office, path []string) bool { return true }
	complete := func() RolloutStep {
		st.Phase, st.StageStartTime, st.WaitingFor, st.HaltedGeneration = v1alpha1.RolloutComplete, nil, nil, 0
		step.Stage, step.Completed = int32(len(stages)), true
		st.Offices, st.Updated, _ = countRollout(s, idx, all)
		return step
	}

	if !staged(s.rollout) {
		st.Revision, st.Stages = s.revision, 0
		step = complete()
		step.Stage = 0
		return step
	}
	if prev == nil || prev.Revision != s.revision {
		// A new revision: its rollout starts at the first stage, from the
		// last revision rolled out everywhere.
		if prev != nil && prev.Phase != v1alpha1.RolloutComplete {
			event(false, EventRolloutSuperseded, "revision %s supersedes revision %s at stage %d of %d", s.revision, prev.Revision, prevStage+1, prev.Stages)
		} else {
			event(false, EventRolloutStarted, "rolling out revision %s in %d stages", s.revision, len(stages))
		}
		st.Revision, st.Phase, st.StageStartTime, st.HaltedGeneration = s.revision, v1alpha1.RolloutProgressing, &nowT, 0
		step.Stage = 0
		if s.stable == s.revision {
			// Back to the revision every office runs.
			return complete()
		}
	}
	if st.Phase == v1alpha1.RolloutComplete {
		return complete()
	}
	if int(step.Stage) >= len(stages) {
		// Stages were removed under a rollout: the last one is in progress.
		step.Stage = int32(len(stages) - 1)
	}

	switch {
	case s.hold.PausedBy != "":
		if st.Phase != v1alpha1.RolloutPaused {
			event(false, EventRolloutPaused, "paused at stage %d of %d (%s)", step.Stage+1, len(stages), s.hold.PausedBy)
		}
		st.Phase, step.PausedBy = v1alpha1.RolloutPaused, s.hold.PausedBy
	case st.Phase == v1alpha1.RolloutPaused:
		// Resumed: the stage gets its whole deadline again.
		event(false, EventRolloutResumed, "resumed at stage %d of %d", step.Stage+1, len(stages))
		st.Phase, st.StageStartTime, st.HaltedGeneration = v1alpha1.RolloutProgressing, &nowT, 0
	case st.Phase == v1alpha1.RolloutHalted && st.HaltedGeneration != s.generation:
		// Edited since the halt (a new deadline, a pause and resume that
		// may have come too fast to be seen): the stage is tried again.
		event(false, EventRolloutResumed, "stage %d of %d tried again after an edit", step.Stage+1, len(stages))
		st.Phase, st.StageStartTime, st.HaltedGeneration = v1alpha1.RolloutProgressing, &nowT, 0
	case st.Phase == v1alpha1.RolloutHalted && s.hold.Retry != "" && s.hold.Retry != st.Retried:
		event(false, EventRolloutResumed, "stage %d of %d tried again (annotation %s)", step.Stage+1, len(stages), v1alpha1.AnnotationRolloutRetry)
		st.Phase, st.StageStartTime, st.HaltedGeneration = v1alpha1.RolloutProgressing, &nowT, 0
	}
	// A retry is spent once seen, halted or not: an old annotation never
	// tries a later halt again.
	if s.hold.Retry != "" {
		st.Retried = s.hold.Retry
	}

	for {
		reached := func(o *v1alpha1.Office, path []string) bool { return StageOf(stages, o, path) <= int(step.Stage) }
		st.Offices, st.Updated, st.WaitingFor = countRollout(s, idx, reached)
		if st.Phase != v1alpha1.RolloutProgressing || st.Updated < st.Offices {
			break
		}
		event(false, EventStageCompleted, "stage %d of %d (%s): %d offices run revision %s", step.Stage+1, len(stages), describeStage(&stages[step.Stage]), st.Offices, s.revision)
		step.Stage++
		st.StageStartTime = &nowT
		if int(step.Stage) == len(stages) {
			event(false, EventRolloutComplete, "revision %s runs on every office", s.revision)
			return complete()
		}
		event(false, EventStageStarted, "stage %d of %d (%s) started", step.Stage+1, len(stages), describeStage(&stages[step.Stage]))
	}

	if st.Phase == v1alpha1.RolloutProgressing {
		deadline := ProgressDeadline(s.rollout)
		started := now
		if st.StageStartTime != nil {
			started = st.StageStartTime.Time
		}
		if left := started.Add(deadline).Sub(now); left > 0 {
			step.Requeue = left
		} else {
			st.Phase, st.HaltedGeneration = v1alpha1.RolloutHalted, s.generation
			event(true, EventRolloutHalted, "stage %d of %d (%s) not healthy within %s: %d of %d offices run revision %s; waiting for %s",
				step.Stage+1, len(stages), describeStage(&stages[step.Stage]), deadline, st.Updated, st.Offices, s.revision, strings.Join(st.WaitingFor, ", "))
		}
	}
	return step
}

// ProgressDeadline is the rollout's progressDeadline or its default.
func ProgressDeadline(r *v1alpha1.Rollout) time.Duration {
	if r.ProgressDeadline != nil {
		return r.ProgressDeadline.Duration
	}
	return v1alpha1.DefaultProgressDeadline
}

// countRollout counts the offices in (per in) that the rollout concerns,
// those of them that run the revision, and names the first of the others.
func countRollout(s *rolloutSubject, idx *Network, in func(*v1alpha1.Office, []string) bool) (int32, int32, []string) {
	var total, updated int32
	var waiting []string
	for _, o := range idx.All() {
		path, problem := idx.Path(o)
		if problem != nil || o.Spec.Suspend || !o.Spec.Level.HasTenant() || !s.concerns(o, path) || !in(o, path) {
			continue
		}
		total++
		if s.runs(o, path) {
			updated++
		} else {
			waiting = append(waiting, o.Name)
		}
	}
	slices.Sort(waiting)
	if len(waiting) > maxWaitingListed {
		waiting = waiting[:maxWaitingListed]
	}
	return total, updated, waiting
}

// describeStage words a stage as its fields say it.
func describeStage(s *v1alpha1.RolloutStage) string {
	var parts []string
	if len(s.Levels) > 0 {
		levels := make([]string, len(s.Levels))
		for i, l := range s.Levels {
			levels[i] = string(l)
		}
		parts = append(parts, "levels "+strings.Join(levels, ","))
	}
	if s.SubtreeOf != "" {
		parts = append(parts, "subtree of "+string(s.SubtreeOf))
	}
	if s.Percent != nil {
		parts = append(parts, fmt.Sprintf("%d%%", *s.Percent))
	}
	return strings.Join(parts, ", ")
}

// StageReport is one stage of a policy's rollout as `petitionctl rollout
// status` shows it.
type StageReport struct {
	// Stage is the stage's number, counted from 1; len(stages)+1 stands
	// for the offices in no stage.
	Stage int `json:"stage"`
	// Description words the stage's fields.
	Description string `json:"description"`
	// Offices the rollout concerns in this stage (and in no earlier one).
	Offices int `json:"offices"`
	// Updated is how many of them run the revision.
	Updated int `json:"updated"`
	// Waiting names up to 10 of them that do not run it.
	Waiting []string `json:"waiting,omitempty"`
}

// RolloutPlan reports each stage of the policy's staged rollout: its
// offices and how many run the revision being rolled out. Offices in no
// stage come last, when there are any.
func RolloutPlan(p *v1alpha1.RoutingPolicy, idx *Network) []StageReport {
	return rolloutPlan(policySubject(p), idx)
}

func rolloutPlan(s *rolloutSubject, idx *Network) []StageReport {
	stages := s.rollout.Stages
	out := make([]StageReport, 0, len(stages)+1)
	for i := 0; i <= len(stages); i++ {
		total, updated, waiting := countRollout(s, idx, func(o *v1alpha1.Office, path []string) bool {
			return StageOf(stages, o, path) == i
		})
		r := StageReport{Stage: i + 1, Offices: int(total), Updated: int(updated), Waiting: waiting}
		if i < len(stages) {
			r.Description = describeStage(&stages[i])
		} else if total == 0 {
			break
		} else {
			r.Description = "in no stage (with the last)"
		}
		out = append(out, r)
	}
	return out
}

// StageProgress is a staged rollout's stage counted from 1, of how many
// ("2/3"), for the STAGE column; stage is the index in progress, counted
// from 0, and equal to the number of stages once the last is done ("3/3").
// Empty for an Immediate rollout.
func StageProgress(stage int32, r *v1alpha1.Rollout) string {
	if r == nil || r.Strategy != v1alpha1.RolloutStaged || len(r.Stages) == 0 {
		return ""
	}
	n := int32(len(r.Stages))
	shown := min(stage+1, n)
	return fmt.Sprintf("%d/%d", max(shown, 1), n)
}
