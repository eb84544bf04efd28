package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// officeArg is the office a command is about: its argument or --office
// (kept for scripts written before the argument). Both may be given when
// they agree.
func officeArg(args []string, flag string) (string, error) {
	switch {
	case len(args) == 1 && flag != "" && args[0] != flag:
		return "", fmt.Errorf("the office is %s as the argument and %s as --office: give one", xinfang.Quote(args[0]), xinfang.Quote(flag))
	case len(args) == 1:
		return args[0], nil
	case flag != "":
		return flag, nil
	}
	return "", errors.New("no office: give it as the argument or with --office")
}

// aboutAnOffice makes cmd a command about one office: given as its argument
// or with --office (the flag, which the caller defines), completed from the
// files or the cluster, and passed to run.
func (o *options) aboutAnOffice(cmd *cobra.Command, flag *string, run func(cmd *cobra.Command, office string) error) {
	cmd.Args = cobra.MaximumNArgs(1)
	cmd.ValidArgsFunction = o.completeOffices
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		office, err := officeArg(args, *flag)
		if err != nil {
			return err
		}
		return run(cmd, office)
	}
}

// compileProblem makes an office that does not compile a finding (exit 1):
// the files or the cluster were read, and the office is broken.
func compileProblem(err error) error {
	var p *xinfang.Problem
	if errors.As(err, &p) {
		return finding(err)
	}
	return err
}

// enumValue is a flag that takes one of a few values in any case and
// stores it as the API spells it.
type enumValue struct {
	value   *string
	allowed []string
}

func (e *enumValue) String() string { return *e.value }
func (e *enumValue) Type() string   { return strings.Join(e.allowed, "|") }

func (e *enumValue) Set(s string) error {
	for _, a := range e.allowed {
		if strings.EqualFold(s, a) {
			*e.value = a
			return nil
		}
	}
	return fmt.Errorf("%s is not one of %s", xinfang.Quote(s), strings.Join(e.allowed, ", "))
}

// The values of the petition enums, as the API spells them.
var (
	petitionTypes = []string{string(v1alpha1.PetitionReport), string(v1alpha1.PetitionAppeal), string(v1alpha1.PetitionInquiry)}
	channels      = []string{string(v1alpha1.ChannelVisit), string(v1alpha1.ChannelLetter), string(v1alpha1.ChannelPhone), string(v1alpha1.ChannelOnline)}
)

func petitionTypeFlag(v *string) *enumValue { return &enumValue{value: v, allowed: petitionTypes} }
func channelFlag(v *string) *enumValue      { return &enumValue{value: v, allowed: channels} }

// completionTimeout bounds the reading of the files or the cluster for one
// completion, so that a slow cluster never hangs the shell.
const completionTimeout = 5 * time.Second

// completionSet reads the network for a completion, or nil.
func (o *options) completionSet(cmd *cobra.Command) *xinfang.Snapshot {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	set, err := o.load(ctx)
	if err != nil {
		cobra.CompDebugln("reading the network: "+err.Error(), true)
		return nil
	}
	return set
}

// completions are the candidates that start with prefix, each with its
// description after a tab, as cobra shows them, sorted and unique.
func completions(prefix string, candidates map[string]string) ([]cobra.Completion, cobra.ShellCompDirective) {
	out := make([]cobra.Completion, 0, len(candidates))
	for name, desc := range candidates {
		if strings.HasPrefix(name, prefix) {
			out = append(out, cobra.CompletionWithDesc(name, printable(desc)))
		}
	}
	slices.Sort(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeOffices completes an office's name from the files (-f, -k) or
// the cluster, with its level and display name.
func (o *options) completeOffices(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return o.completeOfficeNames(cmd, nil, prefix)
}

func (o *options) completeOfficeNames(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return o.completeOfficesOf(cmd, args, prefix, nil)
}

// completeLocalities completes the name of an office that may be a
// locality: a place (xinfang.LocalityLevels), no Department.
func (o *options) completeLocalities(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return o.completeOfficesOf(cmd, args, prefix, xinfang.LocalityLevels)
}

// completeOfficesOf completes the name of an office of one of levels (any
// level when nil).
func (o *options) completeOfficesOf(cmd *cobra.Command, _ []string, prefix string, levels []v1alpha1.Level) ([]cobra.Completion, cobra.ShellCompDirective) {
	set := o.completionSet(cmd)
	if set == nil {
		return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
	}
	names := make(map[string]string, len(set.Offices))
	for i := range set.Offices {
		office := &set.Offices[i]
		if levels != nil && !slices.Contains(levels, office.Spec.Level) {
			continue
		}
		names[office.Name] = strings.TrimSpace(string(office.Spec.Level) + " " + office.Spec.DisplayName)
	}
	return completions(prefix, names)
}

// completeCategories completes a petition category from the rules of the
// offices and RoutingPolicies.
func (o *options) completeCategories(cmd *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	set := o.completionSet(cmd)
	if set == nil {
		return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
	}
	categories := map[string]string{}
	add := func(rules []v1alpha1.RoutingRule, where string) {
		for _, r := range rules {
			for _, c := range r.Match.Categories {
				if _, ok := categories[c]; !ok {
					categories[c] = "routed by " + where
				}
			}
		}
	}
	for i := range set.RoutingPolicies {
		add(set.RoutingPolicies[i].Spec.Rules, "RoutingPolicy "+set.RoutingPolicies[i].Name)
	}
	for i := range set.Offices {
		add(set.Offices[i].Spec.Routing.Rules, "Office "+set.Offices[i].Name)
	}
	return completions(prefix, categories)
}

// completeRolloutTargets completes the argument of the rollout commands:
// RoutingPolicies by name, DutyPeriods as duty/NAME, the TenantDefaults as
// td/NAME.
func (o *options) completeRolloutTargets(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	set := o.completionSet(cmd)
	if set == nil {
		return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
	}
	targets := map[string]string{}
	for i := range set.RoutingPolicies {
		p := &set.RoutingPolicies[i]
		targets[p.Name] = "RoutingPolicy, " + string(p.Spec.Rollout.Strategy)
	}
	for i := range set.DutyPeriods {
		targets["duty/"+set.DutyPeriods[i].Name] = "DutyPeriod"
	}
	for i := range set.TenantDefaults {
		targets["td/"+set.TenantDefaults[i].Name] = "TenantDefaults"
	}
	return completions(prefix, targets)
}

// registerPetitionCompletion completes the flags of a petition that a
// command has: the offices, the categories and the enums.
func (o *options) registerPetitionCompletion(cmd *cobra.Command) {
	if cmd.Flags().Lookup("office") != nil {
		_ = cmd.RegisterFlagCompletionFunc("office", o.completeOfficeNames)
	}
	if cmd.Flags().Lookup("locality") != nil {
		_ = cmd.RegisterFlagCompletionFunc("locality", o.completeLocalities)
	}
	if cmd.Flags().Lookup("category") != nil {
		_ = cmd.RegisterFlagCompletionFunc("category", o.completeCategories)
	}
	if cmd.Flags().Lookup("type") != nil {
		_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(petitionTypes, cobra.ShellCompDirectiveNoFileComp))
	}
	if cmd.Flags().Lookup("channel") != nil {
		_ = cmd.RegisterFlagCompletionFunc("channel", cobra.FixedCompletions(channels, cobra.ShellCompDirectiveNoFileComp))
	}
}
