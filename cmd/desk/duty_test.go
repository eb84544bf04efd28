package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// TestDutyOnSampleConfig: a county of the samples serves the 两会 period in
// /v1/office and its windows answers name it.
func TestDutyOnSampleConfig(t *testing.T) {
	srv := sampleDesk(t, "zhenping-county")
	code, body := get(t, srv.URL+"/v1/office")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/office = %d %s", code, body)
	}
	var cfg struct {
		Duty *xinfang.DutyConfig `json:"duty"`
	}
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Duty == nil || len(cfg.Duty.Periods) != 1 {
		t.Fatalf("duty = %+v, want the 两会 period", cfg.Duty)
	}
	p := cfg.Duty.Periods[0]
	if p.Name != "lianghui-2027" || p.DisplayName != "全国两会期间信访值班" || *p.Staffing != (v1alpha1.DutyStaffing{MinOnDuty: 2, LeaderOnDuty: true}) ||
		p.DailyReport.By != "16:00" || p.Window.Kind != v1alpha1.WindowExtendedDuty || p.Window.ClosedOnHolidays {
		t.Errorf("period %+v", p)
	}
	for query, want := range map[string]string{
		"channel=Visit&at=2027-03-07T03:00:00%2B08:00": `{"open":true,"window":"lianghui-2027","nextOpening":"2027-03-15T08:30:00+08:00"}`,
		"channel=Phone&at=2027-03-02T23:00:00%2B08:00": `{"open":false,"window":"","nextOpening":"2027-03-03T00:00:00+08:00"}`,
	} {
		if code, got := get(t, srv.URL+"/v1/windows?"+query); code != http.StatusOK || strings.TrimSpace(got) != want {
			t.Errorf("GET /v1/windows?%s = %d %s, want %s", query, code, got, want)
		}
	}
	// A township has no duty section.
	town := sampleDesk(t, "shifosi-town")
	if _, body := get(t, town.URL+"/v1/office"); strings.Contains(body, `"duty"`) {
		t.Errorf("the township serves a duty section:\n%s", body)
	}
}

// TestDutyBounds: a configuration with more duty periods, or larger ones,
// than the API admits is refused, naming the field.
func TestDutyBounds(t *testing.T) {
	period := func(i int) xinfang.CompiledDutyPeriod {
		name := fmt.Sprintf("p%02d", i)
		return xinfang.CompiledDutyPeriod{Name: name, Window: xinfang.CompiledWindow{Name: name, Kind: v1alpha1.WindowExtendedDuty,
			Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit}, DateRanges: []v1alpha1.DateRange{{From: "2027-03-03", To: "2027-03-12"}}}}
	}
	for name, tt := range map[string]struct {
		duty *xinfang.DutyConfig
		want string
	}{
		"33 periods": {func() *xinfang.DutyConfig {
			d := &xinfang.DutyConfig{}
			for i := range xinfang.MaxDutyPeriods + 1 {
				d.Periods = append(d.Periods, period(i))
			}
			return d
		}(), "duty.periods: 33 periods, at most 32"},
		"9 times": {func() *xinfang.DutyConfig {
			p := period(0)
			for range v1alpha1.MaxWindowTimes + 1 {
				p.Window.Times = append(p.Window.Times, v1alpha1.TimeRange{Start: "08:00", End: "09:00"})
			}
			return &xinfang.DutyConfig{Periods: []xinfang.CompiledDutyPeriod{p}}
		}(), "duty.periods[0].window.times: 9 items, at most 8"},
		"a bad window": {&xinfang.DutyConfig{Periods: []xinfang.CompiledDutyPeriod{func() xinfang.CompiledDutyPeriod {
			p := period(0)
			p.Window.DateRanges[0].To = "2027-02-30"
			return p
		}()}}, `duty.periods[0].window.dateRanges[0].to: "2027-02-30" is not a valid date`},
	} {
		cfg := plainOffice()
		cfg.Duty = tt.duty
		data, _, err := cfg.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "office.json")
		writeFile(t, path, string(data))
		if _, err := newDesk(path, defaultOptions()); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", name, err, tt.want)
		}
	}
	// 32 periods are served.
	cfg := plainOffice()
	cfg.Duty = &xinfang.DutyConfig{}
	for i := range xinfang.MaxDutyPeriods {
		cfg.Duty.Periods = append(cfg.Duty.Periods, period(i))
	}
	loadDesk(t, cfg, defaultOptions())
}
