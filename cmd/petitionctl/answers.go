package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// officeConfig compiles the named office's configuration from the files or
// the cluster, as the operator does.
func (o *options) officeConfig(ctx context.Context, office string) (*xinfang.OfficeConfig, error) {
	set, err := o.load(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := set.OfficeConfig(office)
	return cfg, compileProblem(err)
}

// withLocality compiles the receiving office's configuration and, when the
// petition names another locality, that office's too, from the same files
// or cluster, and answers the locality's handling of the petition (nil when
// the receiving office is the locality). A Village answers through its
// township's configuration (it routes as its township does); a locality that
// is no place, a Department, is a finding (exit 1). Errors about the
// locality name --locality.
func (o *options) withLocality(ctx context.Context, office, locality string, p *xinfang.Petition) (*xinfang.OfficeConfig, *xinfang.Handling, error) {
	if locality != "" {
		if err := xinfang.CheckOfficeName("--locality", locality); err != nil {
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
	src := set.Network()
	if locality != "" {
		local, ok := src.Get(locality)
		if !ok {
			return nil, nil, fmt.Errorf("--locality: office %s does not exist", xinfang.Quote(locality))
		}
		if err := xinfang.CheckLocality(locality, local.Spec.Level); err != nil {
			return nil, nil, finding(fmt.Errorf("--locality: %w", err))
		}
	}
	cfg, err := src.OfficeConfig(office)
	if err != nil {
		return nil, nil, compileProblem(err)
	}
	if locality == "" || locality == office {
		return cfg, nil, nil
	}
	local, err := src.OfficeConfig(locality)
	if err != nil {
		return nil, nil, compileProblem(fmt.Errorf("--locality: %w", err))
	}
	h, err := local.Handling(*p)
	if err != nil {
		return nil, nil, err
	}
	return cfg, &h, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newRouteCommand(o *options) *cobra.Command {
	var office, locality string
	var p xinfang.Petition
	var petitionType, channel string
	cmd := &cobra.Command{
		Use:   "route [OFFICE]",
		Short: "Show which office handles a petition an office receives",
		Long: `route evaluates the office's effective rules — its inline rules, then the
RoutingPolicies that select it by descending priority, then name — for a
petition of a category and type (and channel). The first match wins; rules
with continue add copies. No match keeps the petition with the receiving
office (首问负责); a target that does not resolve falls back to it too
("fallback": true).

With --locality, the place where the matter arose (属地管理: a City, County,
Township or Village office; a Department is no place and is refused), the
rules are those of the locality: relative department targets resolve from the
locality upward, and no match leaves the petition with the locality. A
Village routes as its township: its township's table, and its township
handles what matches nothing. At a joint reception centre (联合接访中心) a
Visit whose handler is stationed there is handled on the spot, never skipping
levels. A
Visit received above the parent of the handler's level office (the
handler, or the City or County of a department) skips levels (越级访):
"skipLevel": true, and "redirectTo" names that level office. Letters, phone
calls and online petitions never skip levels.

The receiving office is the argument (or --office). --type and --channel
take their values in any case.`,
		Example: `  petitionctl route shifosi-town -f config/samples --category land-acquisition --type appeal -o json
  petitionctl route nanyang-city -k overlays/prod --locality jiasong-town --category road-repair --type Appeal --channel Visit
  petitionctl route shifosi-town --category land-acquisition --type Appeal -o name`,
	}
	o.aboutAnOffice(cmd, &office, func(cmd *cobra.Command, office string) error {
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
		refs := []objectRef{{xinfang.KindOffice, route.Office}}
		return o.emit(&report{
			kind: "Route", value: route,
			header: "OFFICE\tRULE\tPOLICY\tFALLBACK\tCOPIES\tSKIP LEVEL\tREDIRECT TO",
			rows: []string{row(route.Office, dash(route.Rule), dash(route.Policy), fmt.Sprint(route.Fallback), dash(strings.Join(printables(route.Copies), ",")),
				fmt.Sprint(route.SkipLevel), dash(route.RedirectTo))},
			objects: refs,
		})
	})
	f := cmd.Flags()
	f.StringVar(&office, "office", "", "the office that receives the petition (or give it as the argument)")
	f.StringVar(&locality, "locality", "", "the place where the matter arose (属地): a City, County, Township or Village office; default the receiving office")
	f.StringVar(&p.Category, "category", "", "the petition's category, e.g. land-acquisition (required)")
	f.Var(petitionTypeFlag(&petitionType), "type", "the petition's type: Report, Appeal or Inquiry (required)")
	f.Var(channelFlag(&channel), "channel", "the petition's channel: Visit, Letter, Phone or Online")
	_ = cmd.MarkFlagRequired("category")
	_ = cmd.MarkFlagRequired("type")
	o.registerPetitionCompletion(cmd)
	return cmd
}

func newWindowsCommand(o *options) *cobra.Command {
	var office, channel, at string
	cmd := &cobra.Command{
		Use:   "windows [OFFICE]",
		Short: "Show whether an office receives on a channel at an instant, and when it next opens",
		Long: `windows evaluates the office's reception windows in its time zone, closed on
the public holidays of its calendar (unless a window says otherwise), with
adjusted working days opening the windows of every day from Monday to Friday.
At a joint reception centre (spec.jointReception) it lists each stationed
department's windows too, as the desk does.

The office is the argument (or --office); --at defaults to now, and -o wide
and -o json say which instant was asked.`,
		Example: `  petitionctl windows zhenping-county -f config/samples --channel Visit --at 2026-10-01T09:00:00+08:00 -o json
  petitionctl windows zhenping-county --channel visit`,
	}
	o.aboutAnOffice(cmd, &office, func(cmd *cobra.Command, office string) error {
		instant := time.Now()
		var err error
		if at != "" {
			if instant, err = time.Parse(time.RFC3339, at); err != nil {
				return fmt.Errorf("--at: %s is not an RFC 3339 time such as 2026-10-08T09:00:00+08:00", xinfang.Quote(at))
			}
		}
		cfg, err := o.officeConfig(cmd.Context(), office)
		if err != nil {
			return err
		}
		// The office's windows and, at a joint reception centre, those of
		// the departments stationed there, as the desk answers them.
		answers, err := cfg.Prepare()
		if err != nil {
			return fmt.Errorf("%s: %w", "Office/"+office, err)
		}
		limit := xinfang.SearchLimit{Days: xinfang.NextOpeningDays}
		ans, _, err := answers.Windows(v1alpha1.Channel(channel), instant, limit)
		if err != nil {
			return fmt.Errorf("%s: %w", "Office/"+office, err)
		}
		stationed, _, err := answers.StationedWindows(v1alpha1.Channel(channel), instant, limit)
		if err != nil {
			return fmt.Errorf("%s: %w", "Office/"+office, err)
		}
		if loc, err := time.LoadLocation(cfg.TimeZone); err == nil {
			instant = instant.In(loc)
		}
		asked := instant.Format(time.RFC3339)
		r := &report{
			kind: "Windows",
			value: struct {
				Office  string `json:"office"`
				Channel string `json:"channel"`
				At      string `json:"at"`
				xinfang.WindowAnswer
				Stationed []xinfang.StationedWindow `json:"stationed,omitempty"`
			}{office, channel, asked, ans, stationed},
			header:     "OPEN\tWINDOW\tNEXT OPENING",
			wideHeader: "OFFICE\tCHANNEL\tAT\tOPEN\tWINDOW\tNEXT OPENING",
			objects:    []objectRef{{xinfang.KindOffice, office}},
		}
		answered := append([]xinfang.StationedWindow{{Office: office, WindowAnswer: ans}}, stationed...)
		if len(stationed) > 0 {
			r.header = "OFFICE\tOPEN\tWINDOW\tNEXT OPENING"
		}
		for _, a := range answered {
			open, window, next := fmt.Sprint(a.Open), dash(a.Window), dash(a.NextOpening)
			if len(stationed) > 0 {
				r.rows = append(r.rows, row(a.Office, open, window, next))
			} else {
				r.rows = append(r.rows, row(open, window, next))
			}
			r.wideRows = append(r.wideRows, row(a.Office, channel, asked, open, window, next))
		}
		return o.emit(r)
	})
	f := cmd.Flags()
	f.StringVar(&office, "office", "", "the office (or give it as the argument)")
	f.Var(channelFlag(&channel), "channel", "Visit, Letter, Phone or Online (required)")
	f.StringVar(&at, "at", "", "the instant, RFC 3339 with an offset (default now)")
	_ = cmd.MarkFlagRequired("channel")
	o.registerPetitionCompletion(cmd)
	return cmd
}
