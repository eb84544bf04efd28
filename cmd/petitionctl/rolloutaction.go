package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// rolloutTarget is an object with a staged rollout, read from the cluster.
type rolloutTarget struct {
	obj     client.Object
	kind    string
	rollout func() *v1alpha1.Rollout
	status  func() *v1alpha1.RolloutStatus
	// stage is the index of the stage in progress, counted from 0.
	stage func() int32
}

func (t *rolloutTarget) ref() string { return t.kind + "/" + t.obj.GetName() }

// getRolloutTarget reads NAME or rp/NAME (a RoutingPolicy), duty/NAME (a
// DutyPeriod) or td/NAME (the TenantDefaults) from the cluster.
func (o *options) getRolloutTarget(ctx context.Context, arg string) (client.Client, *rolloutTarget, error) {
	kind, name, found := strings.Cut(arg, "/")
	if !found {
		kind, name = "rp", arg
	}
	var t rolloutTarget
	switch strings.ToLower(kind) {
	case "rp", "routingpolicy", "routingpolicies":
		p := &v1alpha1.RoutingPolicy{}
		t = rolloutTarget{obj: p, kind: "RoutingPolicy", rollout: func() *v1alpha1.Rollout { return &p.Spec.Rollout },
			status: func() *v1alpha1.RolloutStatus { return p.Status.Rollout }, stage: func() int32 { return p.Status.Stage }}
	case "duty", "dutyperiod", "dutyperiods":
		p := &v1alpha1.DutyPeriod{}
		t = rolloutTarget{obj: p, kind: "DutyPeriod", rollout: func() *v1alpha1.Rollout { return &p.Spec.Rollout },
			status: func() *v1alpha1.RolloutStatus { return p.Status.Rollout }, stage: func() int32 { return p.Status.Stage }}
	case "td", "tenantdefaults":
		td := &v1alpha1.TenantDefaults{}
		t = rolloutTarget{obj: td, kind: "TenantDefaults", rollout: td.TenantRollout,
			status: func() *v1alpha1.RolloutStatus { return td.Status.Rollout }, stage: func() int32 { return td.Status.Stage }}
	default:
		return nil, nil, fmt.Errorf("%s: unknown kind %q: name a RoutingPolicy (NAME or rp/NAME), a DutyPeriod (duty/NAME) or the TenantDefaults (td/default)", arg, kind)
	}
	c, err := o.client()
	if err != nil {
		return nil, nil, err
	}
	if err := c.Get(ctx, types.NamespacedName{Name: name}, t.obj); err != nil {
		return nil, nil, fmt.Errorf("%s/%s: %w", t.kind, name, err)
	}
	if r := t.rollout(); r.Strategy != v1alpha1.RolloutStaged || len(r.Stages) == 0 {
		return nil, nil, fmt.Errorf("%s: its rollout is Immediate: there are no stages to pause, resume or retry", t.ref())
	}
	return c, &t, nil
}

// annotate sets (or, with value nil, removes) an annotation of the target
// with a merge patch: only that key is written, and nothing of the spec a
// GitOps tool owns.
func annotate(ctx context.Context, c client.Client, t *rolloutTarget, key string, value *string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]*string{key: value}}})
	if err != nil {
		return err
	}
	if err := c.Patch(ctx, t.obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("%s: %w", t.ref(), err)
	}
	return nil
}

func newRolloutActionCommands(o *options) []*cobra.Command {
	action := func(use, short, long, example string, run func(ctx context.Context, c client.Client, t *rolloutTarget) (string, error)) *cobra.Command {
		return &cobra.Command{
			Use: use + " (NAME | rp/NAME | duty/NAME | td/default)", Short: short, Long: long, Example: example,
			Args:              cobra.ExactArgs(1),
			ValidArgsFunction: o.completeRolloutTargets,
			RunE: func(cmd *cobra.Command, args []string) error {
				if o.offline() {
					return fmt.Errorf("rollout %s acts on the cluster: -f and -k are not allowed", use)
				}
				c, t, err := o.getRolloutTarget(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				msg, err := run(cmd.Context(), c, t)
				if err != nil {
					return err
				}
				if o.machine() {
					return o.printObject(t.obj, t.kind, t.obj.GetName())
				}
				_, _ = fmt.Fprintln(o.out, msg)
				return nil
			},
		}
	}
	pause := action("pause", "Pause a staged rollout at the stage it has reached, through an annotation GitOps does not own",
		`pause sets the annotation petition.xinfang.io/rollout-paused: "true". The
rollout stops at the stage it has reached, as spec.rollout.paused stops it,
but the spec that a GitOps tool applies is not touched, so its self-heal does
not undo the pause. The object reads Ready=False, reason RolloutPaused, and
Argo CD shows it Suspended.`,
		`  petitionctl rollout pause wage-arrears
  petitionctl rollout pause td/default`,
		func(ctx context.Context, c client.Client, t *rolloutTarget) (string, error) {
			if t.obj.GetAnnotations()[v1alpha1.AnnotationRolloutPaused] == "true" {
				return t.ref() + ": already paused", nil
			}
			v := "true"
			if err := annotate(ctx, c, t, v1alpha1.AnnotationRolloutPaused, &v); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s: rollout paused (annotation %s)", t.ref(), v1alpha1.AnnotationRolloutPaused), nil
		})
	resume := action("resume", "Resume a rollout paused with `rollout pause`",
		`resume removes the annotation petition.xinfang.io/rollout-paused. The stage
in progress gets its whole progress deadline again. A rollout that
spec.rollout.paused pauses stays paused until the spec says otherwise.`,
		`  petitionctl rollout resume wage-arrears`,
		func(ctx context.Context, c client.Client, t *rolloutTarget) (string, error) {
			if _, ok := t.obj.GetAnnotations()[v1alpha1.AnnotationRolloutPaused]; ok {
				if err := annotate(ctx, c, t, v1alpha1.AnnotationRolloutPaused, nil); err != nil {
					return "", err
				}
			}
			if t.rollout().Paused {
				return "", fmt.Errorf("%s: spec.rollout.paused is true: the rollout stays paused until the spec says false", t.ref())
			}
			return t.ref() + ": rollout resumed", nil
		})
	retry := action("retry", "Try a halted rollout's stage again, through an annotation GitOps does not own",
		`retry writes the time into the annotation petition.xinfang.io/rollout-retry.
A rollout halted by its progress deadline (phase Halted) tries the stage again
with its whole deadline, without an edit of the spec. Fix what kept the stage
from becoming healthy first. A rollout that is not halted is left alone.`,
		`  petitionctl rollout retry wage-arrears
  petitionctl rollout retry td/default`,
		func(ctx context.Context, c client.Client, t *rolloutTarget) (string, error) {
			st := t.status()
			if st == nil || st.Phase != v1alpha1.RolloutHalted {
				phase := "none yet"
				if st != nil {
					phase = string(st.Phase)
				}
				return "", errNothingToRetry{fmt.Errorf("%s: the rollout is not halted (phase %s): nothing to retry", t.ref(), phase)}
			}
			v := time.Now().UTC().Format(time.RFC3339Nano)
			if err := annotate(ctx, c, t, v1alpha1.AnnotationRolloutRetry, &v); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s: stage %d of %d will be tried again (annotation %s=%s)", t.ref(), t.stage()+1, st.Stages, v1alpha1.AnnotationRolloutRetry, v), nil
		})
	return []*cobra.Command{pause, resume, retry}
}

// errNothingToRetry is a retry of a rollout that is not halted.
type errNothingToRetry struct{ error }

func (e errNothingToRetry) Unwrap() error { return e.error }
