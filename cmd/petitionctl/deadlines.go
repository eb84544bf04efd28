package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

func newDeadlinesCommand(o *options) *cobra.Command {
	var office, locality, received, replied, category, petitionType, channel string
	cmd := &cobra.Command{
		Use:   "deadlines [OFFICE]",
		Short: "Project the statutory dates of a petition an office receives",
		Long: `deadlines projects each stage of a petition received on --received, counting
calendar or working days with the office's HolidayCalendar: the day of an
event is not counted, and a calendar-day date on a non-working day moves to the
next working day.

Given the petition (--category and --type, optionally --channel), the office's
routing table names the office that handles it. When that is another office,
the chain starts with Transfer at the receiving office (登记转送, due under its
EscalationPolicy's Acceptance limit, 15 days by statute) and Acceptance at the
handler counts from Transfer's due date (Arts. 21-22); a Visit at a joint
reception centre where the handler is stationed has no Transfer stage.
Handling, Review and ReReview follow the handler's chain; Review (复查) and
ReReview (复核) follow an Appeal only. Without a petition the office handles it,
every stage. With --locality (the City, County, Township or Village where the
matter arose, 属地管理; a Village routes as its township, a Department is
refused) the locality's routing table names the handler (no match: the
locality). A Visit received above the level that may receive it
(越级访) is answered as the chain runs at redirectTo, with skipLevel set and no
stage at the receiving office. A Review or ReReview above the City is handled
by a body outside the network ("external").

requestBy is the petitioner's last day to ask for a stage: the reply date
(--replied for the first such stage, else the previous stage's due date) plus
the request window. OVERDUE lists the rungs of the office's overdue ladder
(spec.overdue: 催办 Remind, 督办 Supervise, 挂牌督办 Flag), each counted from
the stage's due date, with the office that acts. Dates the calendar does not
cover are listed under warnings. The operator's status and the office's desk
service give the same answer.

The receiving office is the argument (or --office); --received defaults to
today in the office's time zone.`,
		Example: `  petitionctl deadlines shifosi-town -f config/samples --received 2026-09-16
  petitionctl deadlines shifosi-town -f config/samples --received 2026-09-16 --category land-acquisition --type appeal -o json
  petitionctl deadlines zhenping-county --received 2026-08-03 --replied 2026-09-01 -o json
  petitionctl deadlines nanyang-city -k overlays/prod --locality shifosi-town --category land-acquisition --type Appeal`,
	}
	o.aboutAnOffice(cmd, &office, func(cmd *cobra.Command, office string) error {
		var q xinfang.DeadlineQuery
		var err error
		if received != "" {
			if q.Received, err = time.Parse(time.DateOnly, received); err != nil {
				return fmt.Errorf("--received: %s is not a date; want YYYY-MM-DD", xinfang.Quote(received))
			}
		}
		if replied != "" {
			r, err := time.Parse(time.DateOnly, replied)
			if err != nil {
				return fmt.Errorf("--replied: %s is not a date; want YYYY-MM-DD", xinfang.Quote(replied))
			}
			q.Replied = &r
		}
		if category != "" || petitionType != "" || channel != "" {
			q.Petition = &xinfang.Petition{Category: category, Type: v1alpha1.PetitionType(petitionType), Channel: v1alpha1.Channel(channel)}
		}
		cfg, loc, err := o.withLocality(cmd.Context(), office, locality, q.Petition)
		if err != nil {
			return err
		}
		q.Locality = loc
		if received == "" {
			q.Received, err = today(cfg.TimeZone)
			if err != nil {
				return fmt.Errorf("%s: %w", "Office/"+office, err)
			}
		}
		ans, err := cfg.Deadlines(q)
		if err != nil {
			return err
		}
		lines := make([]string, len(ans.Stages))
		refs := make([]objectRef, 0, len(ans.Stages))
		for i, s := range ans.Stages {
			handler := s.Office
			if s.External != "" {
				handler = "(" + s.External + ")"
			}
			lines[i] = row(string(s.Name), handler, dash(s.RequestBy), s.Due, dash(s.DueWithExtension), dash(strings.Join(s.Reminders, ", ")), dash(overdueCell(s.Overdue)))
			refs = append(refs, objectRef{xinfang.KindOffice, s.Office})
		}
		err = o.emit(&report{
			kind: "Deadlines",
			value: struct {
				Office   string `json:"office"`
				Received string `json:"received"`
				xinfang.DeadlineAnswer
			}{office, q.Received.Format(time.DateOnly), ans},
			header:  "STAGE\tOFFICE\tREQUEST BY\tDUE\tWITH EXTENSION\tREMINDERS\tOVERDUE",
			rows:    lines,
			objects: refs,
		})
		if err == nil && !o.machine() {
			if ans.SkipLevel {
				_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "note: a visit skipping a level (越级访): %s must not accept it; the stages are the chain as it runs at %s\n", printable(office), printable(ans.RedirectTo))
			}
			for _, w := range ans.Warnings {
				_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+printable(w))
			}
		}
		return err
	})
	cmd.Flags().StringVar(&office, "office", "", "the office that receives the petition (or give it as the argument)")
	cmd.Flags().StringVar(&received, "received", "", "the date the petition is received, YYYY-MM-DD (default today in the office's time zone)")
	cmd.Flags().StringVar(&replied, "replied", "", "the date the reply that opens the first requested stage (Review) was given, YYYY-MM-DD")
	cmd.Flags().StringVar(&category, "category", "", "the petition's category, to route it (with --type)")
	cmd.Flags().Var(petitionTypeFlag(&petitionType), "type", "the petition's type: Report, Appeal or Inquiry (with --category)")
	cmd.Flags().Var(channelFlag(&channel), "channel", "the petition's channel: Visit, Letter, Phone or Online")
	cmd.Flags().StringVar(&locality, "locality", "", "the place where the matter arose (属地): a City, County, Township or Village office, to route the petition (with --category and --type)")
	o.registerPetitionCompletion(cmd)
	return cmd
}

// overdueCell is a stage's overdue ladder in one table cell: each rung's
// action, the office that acts and its date.
func overdueCell(rungs []xinfang.OverdueDate) string {
	cells := make([]string, len(rungs))
	for i, r := range rungs {
		by := r.Office
		if r.External != "" {
			by = "(" + r.External + ")"
		}
		cells[i] = fmt.Sprintf("%s by %s %s", r.Action, by, r.At)
	}
	return strings.Join(cells, ", ")
}

// today is the date it is now in the IANA time zone tz, as a date at
// midnight UTC (as time.Parse of a YYYY-MM-DD gives).
func today(tz string) (time.Time, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.Time{}, fmt.Errorf("time zone %s: %w", xinfang.Quote(tz), err)
	}
	y, m, d := time.Now().In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}
