package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// officeConfig compiles the named office's configuration from the files or
// the cluster, as the operator does.
func (o *options) officeConfig(ctx context.Context, office string) (*network.OfficeConfig, error) {
	set, err := o.load(ctx)
	if err != nil {
		return nil, err
	}
	return set.Snapshot().OfficeConfig(office)
}

// withLocality compiles the receiving office's configuration and, when the
// petition names another locality, that office's too, from the same files
// or cluster, and answers the locality's handling of the petition (nil when
// the receiving office is the locality). Errors about the locality name
// --locality.
func (o *options) withLocality(ctx context.Context, office, locality string, p *network.Petition) (*network.OfficeConfig, *network.Handling, error) {
	if locality != "" {
		if err := network.CheckOfficeName("--locality", locality); err != nil {
			return nil, nil, err
		}
		if p == nil {
			return nil, nil, fmt.Errorf("--locality: needs the petition (--category and --type) to route")
		}
	}
	set, err := o.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	src := set.Snapshot().Source()
	cfg, err := src.OfficeConfig(office)
	if err != nil {
		return nil, nil, err
	}
	if locality == "" || locality == office {
		return cfg, nil, nil
	}
	if _, ok := src.Index().Get(locality); !ok {
		return nil, nil, fmt.Errorf("--locality: office %s does not exist", network.Quote(locality))
	}
	local, err := src.OfficeConfig(locality)
	if err != nil {
		return nil, nil, fmt.Errorf("--locality: %w", err)
	}
	h, err := local.Handling(*p)
	if err != nil {
		return nil, nil, err
	}
	return cfg, &h, nil
}

// print writes v as JSON with -o json, else the table rows, whose cells
// must be printable (see row).
func (o *options) print(v any, header string, rows ...string) error {
	switch o.output {
	case "json":
		enc := json.NewEncoder(o.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "":
	default:
		return fmt.Errorf("unknown output format %q: use json or leave it empty", o.output)
	}
	tw := tabwriter.NewWriter(o.out, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, header)
	for _, r := range rows {
		_, _ = fmt.Fprintln(tw, r)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newRouteCommand(o *options) *cobra.Command {
	var office, locality string
	var p network.Petition
	var petitionType, channel string
	cmd := &cobra.Command{
		Use:   "route",
		Short: "Show which office handles a petition an office receives",
		Long: `route evaluates the office's effective rules — its inline rules, then the
RoutingPolicies that select it by descending priority, then name — for a
petition of a category and type (and channel). The first match wins; rules
with continue add copies. No match keeps the petition with the receiving
office (首问负责); a target that does not resolve falls back to it too
("fallback": true).

With --locality, the office where the matter arose (属地管理), the rules are
those of the locality: relative department targets resolve from the
locality upward, and no match leaves the petition with the locality. A
Visit received above the parent of the handler's level office (the
handler, or the City or County of a department) skips levels (越级访):
"skipLevel": true, and "redirectTo" names that level office. Letters, phone
calls and online petitions never skip levels.`,
		Example: `  petitionctl route -f config/samples --office shifosi-town --category land-acquisition --type Appeal -o json
  petitionctl route -f config/samples --office nanyang-city --locality jiasong-town --category road-repair --type Appeal --channel Visit -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p.Type, p.Channel = v1alpha1.PetitionType(petitionType), v1alpha1.Channel(channel)
			if err := p.Validate(); err != nil {
				return err
			}
			cfg, loc, err := o.withLocality(cmd.Context(), office, locality, &p)
			if err != nil {
				return err
			}
			route, err := cfg.RouteWith(p, loc)
			if err != nil {
				return err
			}
			return o.print(route, "OFFICE\tRULE\tPOLICY\tFALLBACK\tCOPIES\tSKIP LEVEL\tREDIRECT TO",
				row(route.Office, dash(route.Rule), dash(route.Policy), fmt.Sprint(route.Fallback), dash(strings.Join(printables(route.Copies), ",")),
					fmt.Sprint(route.SkipLevel), dash(route.RedirectTo)))
		},
	}
	cmd.Flags().StringVar(&office, "office", "", "the office that receives the petition (required)")
	cmd.Flags().StringVar(&locality, "locality", "", "the office where the matter arose (属地); default the receiving office")
	cmd.Flags().StringVar(&p.Category, "category", "", "the petition's category, e.g. land-acquisition (required)")
	cmd.Flags().StringVar(&petitionType, "type", "", "Report, Appeal or Inquiry (required)")
	cmd.Flags().StringVar(&channel, "channel", "", "Visit, Letter, Phone or Online")
	for _, f := range []string{"office", "category", "type"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func newWindowsCommand(o *options) *cobra.Command {
	var office, channel, at string
	cmd := &cobra.Command{
		Use:   "windows",
		Short: "Show whether an office receives on a channel at an instant, and when it next opens",
		Long: `windows evaluates the office's reception windows in its time zone, closed on
the public holidays of its calendar (unless a window says otherwise), with
adjusted working days opening the windows of every day from Monday to Friday.`,
		Example: `  petitionctl windows -f config/samples --office zhenping-county --channel Visit --at 2026-10-01T09:00:00+08:00 -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			instant, err := time.Parse(time.RFC3339, at)
			if err != nil {
				return fmt.Errorf("--at: %q is not an RFC 3339 time such as 2026-10-08T09:00:00+08:00", at)
			}
			cfg, err := o.officeConfig(cmd.Context(), office)
			if err != nil {
				return err
			}
			ans, err := cfg.Windows(v1alpha1.Channel(channel), instant)
			if err != nil {
				return fmt.Errorf("%s: %w", "Office/"+office, err)
			}
			return o.print(ans, "OPEN\tWINDOW\tNEXT OPENING",
				row(fmt.Sprint(ans.Open), dash(ans.Window), dash(ans.NextOpening)))
		},
	}
	cmd.Flags().StringVar(&office, "office", "", "the office (required)")
	cmd.Flags().StringVar(&channel, "channel", "", "Visit, Letter, Phone or Online (required)")
	cmd.Flags().StringVar(&at, "at", "", "the instant, RFC 3339 with an offset (required)")
	for _, f := range []string{"office", "channel", "at"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}
