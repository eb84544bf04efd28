package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newDeadlinesCommand(o *options) *cobra.Command {
	var office, received string
	cmd := &cobra.Command{
		Use:   "deadlines",
		Short: "Project the statutory due dates of a petition an office receives",
		Long: `deadlines resolves the office's escalation chain (its EscalationPolicy, or the
built-in statutory-2022) and projects each stage's due date for a petition
received on --received, counting calendar or working days with the office's
HolidayCalendar: the day of receipt is not counted, and a calendar-day deadline
on a non-working day moves to the next working day. The operator's status and
the office's desk service give the same answer.`,
		Example: `  petitionctl deadlines -f config/samples --office shifosi-town --received 2026-09-16
  petitionctl deadlines --office zhenping-county --received 2026-09-16 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			day, err := time.Parse(time.DateOnly, received)
			if err != nil {
				return fmt.Errorf("--received: %q is not a date; want YYYY-MM-DD", received)
			}
			set, err := o.load(cmd.Context())
			if err != nil {
				return err
			}
			cfg, err := set.Snapshot().OfficeConfig(office)
			if err != nil {
				return err
			}
			stages, err := cfg.Deadlines(day)
			if err != nil {
				return err
			}
			lines := make([]string, len(stages))
			for i, s := range stages {
				lines[i] = row(string(s.Name), s.Office, s.Due, dash(s.DueWithExtension), strings.Join(printables(s.Reminders), ", "))
			}
			return o.print(map[string]any{"stages": stages}, "STAGE\tOFFICE\tDUE\tWITH EXTENSION\tREMINDERS", lines...)
		},
	}
	cmd.Flags().StringVar(&office, "office", "", "the office that receives the petition (required)")
	cmd.Flags().StringVar(&received, "received", "", "the date the petition is received, YYYY-MM-DD (required)")
	_ = cmd.MarkFlagRequired("office")
	_ = cmd.MarkFlagRequired("received")
	return cmd
}
