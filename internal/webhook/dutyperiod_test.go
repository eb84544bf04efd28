package webhook_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// duty is the 两会 period of the counties under city.
func duty(name, city string) *v1alpha1.DutyPeriod {
	return &v1alpha1.DutyPeriod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.DutyPeriodSpec{DutyArrangement: v1alpha1.DutyArrangement{
			DisplayName:    "全国两会期间信访值班",
			OfficeSelector: v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelCounty}, SubtreeOf: v1alpha1.OfficeName(city)},
			DateRanges:     []v1alpha1.DateRange{{From: "2027-03-03", To: "2027-03-12"}},
			Channels:       []v1alpha1.Channel{v1alpha1.ChannelVisit, v1alpha1.ChannelPhone},
			Times:          []v1alpha1.TimeRange{{Start: "00:00", End: "24:00"}},
			Staffing:       &v1alpha1.DutyStaffing{MinOnDuty: 2, LeaderOnDuty: true},
			DailyReport:    &v1alpha1.DailyReport{By: "16:00"},
		}}}
}

func TestDutyPeriodRefusals(t *testing.T) {
	ctx := context.Background()
	city := office("dw-city", v1alpha1.LevelCity, "")
	create(t, city)
	for _, tt := range []struct {
		name  string
		edit  func(s *v1alpha1.DutyPeriodSpec)
		wants []string
	}{
		// The schema's CEL rules and bounds.
		{"times and always", func(s *v1alpha1.DutyPeriodSpec) { s.Always = true },
			[]string{"spec: Invalid value: exactly one of times and always: true must be given"}},
		{"neither times nor always", func(s *v1alpha1.DutyPeriodSpec) { s.Times = nil },
			[]string{"exactly one of times and always: true must be given"}},
		{"range backwards", func(s *v1alpha1.DutyPeriodSpec) {
			s.DateRanges[0] = v1alpha1.DateRange{From: "2027-03-12", To: "2027-03-03"}
		},
			[]string{"spec.dateRanges[0]: Invalid value: to must not be before from"}},
		{"times backwards", func(s *v1alpha1.DutyPeriodSpec) { s.Times[0] = v1alpha1.TimeRange{Start: "20:00", End: "08:00"} },
			[]string{"spec.times[0]: Invalid value: start must be before end"}},
		{"report at 24:00", func(s *v1alpha1.DutyPeriodSpec) { s.DailyReport.By = "24:00" },
			[]string{"spec.dailyReport.by: Invalid value: \"24:00\": spec.dailyReport.by in body should match"}},
		{"three on duty of 21", func(s *v1alpha1.DutyPeriodSpec) { s.Staffing.MinOnDuty = 21 },
			[]string{"spec.staffing.minOnDuty: Invalid value: 21: spec.staffing.minOnDuty in body should be less than or equal to 20"}},
		{"33 ranges", func(s *v1alpha1.DutyPeriodSpec) {
			s.DateRanges = nil
			for i := range 33 {
				d := time.Date(2027, 1, 1+2*i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
				s.DateRanges = append(s.DateRanges, v1alpha1.DateRange{From: v1alpha1.Date(d), To: v1alpha1.Date(d)})
			}
		}, []string{"spec.dateRanges: Too many: 33: must have at most 32 items"}},
		{"display name of 129", func(s *v1alpha1.DutyPeriodSpec) { s.DisplayName = strings.Repeat("值", 129) },
			[]string{"spec.displayName: Too long: may not be more than 128 bytes"}},
		// The webhook's rules (network.CheckDutyPeriod).
		{"367 days", func(s *v1alpha1.DutyPeriodSpec) {
			s.DateRanges[0] = v1alpha1.DateRange{From: "2027-01-01", To: "2028-01-02"}
		},
			[]string{"spec.dateRanges: Invalid value: the period runs 367 days, from 2027-01-01 to 2028-01-02; at most 366 are allowed"}},
		{"impossible date", func(s *v1alpha1.DutyPeriodSpec) {
			s.DateRanges[0] = v1alpha1.DateRange{From: "2027-02-27", To: "2027-02-30"}
		},
			[]string{`spec.dateRanges[0].to: Invalid value: "2027-02-30" is not a valid date (YYYY-MM-DD)`}},
		{"out of order", func(s *v1alpha1.DutyPeriodSpec) {
			s.DateRanges = []v1alpha1.DateRange{{From: "2027-10-01", To: "2027-10-07"}, {From: "2027-03-03", To: "2027-03-12"}}
		}, []string{`spec.dateRanges[1].from: Invalid value: "2027-03-03": must be after the previous range's last date 2027-10-07`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := duty("dw-bad", "dw-city")
			tt.edit(&p.Spec)
			err := k8s.Create(ctx, p)
			expectRefused(t, err, metav1.StatusReasonInvalid, append([]string{`DutyPeriod.petition.xinfang.io "dw-bad" is invalid`}, tt.wants...)...)
			if err == nil {
				_ = k8s.Delete(ctx, p)
			}
		})
	}

	// Valid, and overlapping another period: admitted without a word.
	warnings.Reset()
	other := duty("dw-other", "dw-city")
	other.Spec.DateRanges = []v1alpha1.DateRange{{From: "2027-03-01", To: "2027-03-31"}}
	create(t, duty("dw-lianghui", "dw-city"), other)
	if w := warnings.Messages(); len(w) != 0 {
		t.Errorf("warnings %q, want none", w)
	}
	// A subtree not applied yet: admitted, with a warning.
	create(t, duty("dw-pending", "dw-nowhere"))
	if got := strings.Join(warnings.Messages(), "\n"); !strings.Contains(got,
		`spec.officeSelector.subtreeOf: Not found: Office "dw-nowhere" does not exist yet; the object waits, not Ready, until it is applied`) {
		t.Errorf("warnings = %q", got)
	}
}

// TestDutyPeriodsPerOfficeBounded: 32 periods may select one office; the
// 33rd is refused, naming the office, and a period that selects elsewhere
// is not.
func TestDutyPeriodsPerOfficeBounded(t *testing.T) {
	ctx := context.Background()
	city := office("db-city", v1alpha1.LevelCity, "")
	county := office("db-county", v1alpha1.LevelCounty, "db-city")
	create(t, city, county)
	var periods []client.Object
	for i := range 32 {
		periods = append(periods, duty(fmt.Sprintf("db-%02d", i), "db-city"))
	}
	create(t, periods...)
	NewWithT(t).Eventually(func(g Gomega) {
		err := k8s.Create(ctx, duty("db-32", "db-city"), client.DryRunAll)
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring(
			`DutyPeriod.petition.xinfang.io "db-32" is invalid: spec.officeSelector: Forbidden: office "db-county" would be selected by 33 DutyPeriods; at most 32 may select one office`))
	}).WithTimeout(10 * time.Second).Should(Succeed())
	// Replacing one of the 32 is no 33rd. (Read again on a conflict: the
	// reconciler writes the periods' status meanwhile.)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p := &v1alpha1.DutyPeriod{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: "db-00"}, p); err != nil {
			return err
		}
		p.Spec.DateRanges[0].To = "2027-03-13"
		return k8s.Update(ctx, p, client.DryRunAll)
	})
	if err != nil {
		t.Errorf("updating db-00: %v", err)
	}
	elsewhere := duty("db-cities", "db-city")
	elsewhere.Spec.OfficeSelector.Levels = []v1alpha1.Level{v1alpha1.LevelCity}
	if err := k8s.Create(ctx, elsewhere, client.DryRunAll); err != nil {
		t.Errorf("a period of the City: %v", err)
	}
}
