package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/version"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// options are the flags every command shares.
type options struct {
	files []string
	// kustomize is the directory of -k, rendered as kubectl apply -k does.
	kustomize string
	// config are kubectl's flags for reaching a cluster (--kubeconfig,
	// --context, --server, --token, --as, --request-timeout, …). There is
	// no -n: every kind of this API is cluster-scoped.
	config *genericclioptions.ConfigFlags
	// print are kubectl's -o, --template and --allow-missing-template-keys.
	print *genericclioptions.PrintFlags
	// noHeaders leaves out the header line of a table (--no-headers, as
	// kubectl get's).
	noHeaders bool
	out, errw io.Writer
}

// pluginName is the file name under which kubectl runs petitionctl as its
// plugin `kubectl petition`.
const pluginName = "kubectl-petition"

// displayName is how the command was invoked, for its help texts: "kubectl
// petition" when run as the plugin kubectl-petition (by kubectl, or by
// hand), else "petitionctl".
func displayName(arg0 string) string {
	base := strings.TrimSuffix(filepath.Base(arg0), ".exe")
	if base == pluginName {
		return "kubectl petition"
	}
	return "petitionctl"
}

func newRootCommand(out, errw io.Writer) *cobra.Command {
	return newRootCommandAs(displayName(os.Args[0]), out, errw)
}

func newRootCommandAs(name string, out, errw io.Writer) *cobra.Command {
	o := &options{out: out, errw: errw, config: genericclioptions.NewConfigFlags(true), print: newPrintFlags()}
	o.config.Namespace = nil
	root := &cobra.Command{
		Use:         "petitionctl",
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: name},
		Short:       "Inspect a petition (信访) network: offline from YAML (-f) or from the cluster",
		Long: `petitionctl reads a petition network, either offline from the YAML files a
GitOps repository holds (-f, files or directories, repeatable) or, without -f,
from the cluster of the current kubeconfig. It uses the same code as the
operator, so what it says offline is what the cluster will do.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if len(o.files) > 0 && o.kustomize != "" {
				return errors.New("-f and -k: give one; -k renders a kustomization, -f reads files as they are")
			}
			return o.checkOutput(cmd)
		},
	}
	root.SetOut(out)
	root.SetErr(errw)
	pf := root.PersistentFlags()
	pf.StringArrayVarP(&o.files, "filename", "f", nil, "YAML or JSON file or directory to read instead of the cluster, - for standard input (repeatable)")
	o.config.AddFlags(pf)
	// The discovery cache: petitionctl knows its kinds and never reads it.
	_ = pf.MarkHidden("cache-dir")
	addPrintFlags(root, o.print)
	pf.BoolVar(&o.noHeaders, "no-headers", false, "With the default or wide output, leave out the table's header line (as kubectl get --no-headers)")

	pf.StringVarP(&o.kustomize, "kustomize", "k", "", "a kustomization directory to render, as kubectl apply -k does, and read instead of the cluster")
	_ = root.MarkPersistentFlagDirname("kustomize")
	_ = root.MarkPersistentFlagFilename("filename", "yaml", "yml", "json")

	root.AddCommand(newTreeCommand(o), newRouteCommand(o), newWindowsCommand(o), newDeadlinesCommand(o), newPlanCommand(o), newValidateCommand(o), newRolloutCommand(o), &cobra.Command{
		Use:   "version",
		Short: "Print the version of petitionctl",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			v := version.String()
			return o.emit(&report{
				kind: "Version",
				value: struct {
					Version  string `json:"version"`
					Revision string `json:"revision"`
				}{v, version.Revision},
				footer: []string{name + " " + v},
			})
		},
	})
	return root
}

// contextName names the cluster petitionctl reads without -f or -k: the
// kubeconfig context of --context or the current one, or the --server.
func (o *options) contextName() string {
	if o.config.Context != nil && *o.config.Context != "" {
		return fmt.Sprintf("context %q", *o.config.Context)
	}
	if o.config.APIServer != nil && *o.config.APIServer != "" {
		return fmt.Sprintf("server %q", *o.config.APIServer)
	}
	if raw, err := o.config.ToRawKubeConfigLoader().RawConfig(); err == nil && raw.CurrentContext != "" {
		return fmt.Sprintf("context %q", raw.CurrentContext)
	}
	return "the current kubeconfig"
}

// offline reports whether the network is read from files (-f, -k) rather
// than from the cluster.
func (o *options) offline() bool { return len(o.files) > 0 || o.kustomize != "" }

// load reads the network from the files given with -f or, without -f, from
// the cluster.
func (o *options) load(ctx context.Context) (*xinfang.Snapshot, error) {
	if len(o.files) > 0 {
		return objfiles.Load(o.files...)
	}
	if o.kustomize != "" {
		return objfiles.LoadKustomize(o.kustomize)
	}
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	set := &xinfang.Snapshot{Live: true}
	var offices v1alpha1.OfficeList
	if err := c.List(ctx, &offices); err != nil {
		return nil, fmt.Errorf("listing offices: %w", err)
	}
	set.Offices = offices.Items
	var routing v1alpha1.RoutingPolicyList
	if err := c.List(ctx, &routing); err != nil {
		return nil, fmt.Errorf("listing routing policies: %w", err)
	}
	set.RoutingPolicies = routing.Items
	var policies v1alpha1.EscalationPolicyList
	if err := c.List(ctx, &policies); err != nil {
		return nil, fmt.Errorf("listing escalation policies: %w", err)
	}
	set.EscalationPolicies = policies.Items
	var calendars v1alpha1.HolidayCalendarList
	if err := c.List(ctx, &calendars); err != nil {
		return nil, fmt.Errorf("listing holiday calendars: %w", err)
	}
	set.HolidayCalendars = calendars.Items
	var defaults v1alpha1.TenantDefaultsList
	if err := c.List(ctx, &defaults); err != nil {
		return nil, fmt.Errorf("listing tenant defaults: %w", err)
	}
	set.TenantDefaults = defaults.Items
	var periods v1alpha1.DutyPeriodList
	if err := c.List(ctx, &periods); err != nil {
		return nil, fmt.Errorf("listing duty periods: %w", err)
	}
	set.DutyPeriods = periods.Items
	return set, nil
}

func (o *options) client() (client.Client, error) {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w (use -f to read files instead)", err)
	}
	cfg.UserAgent = "petitionctl/" + version.String()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}
