package network

import (
	"fmt"
	"sort"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// ParseDate parses a YYYY-MM-DD date. The API's pattern admits dates such as
// 2026-02-30 that do not exist; ParseDate rejects them.
func ParseDate(d v1alpha1.Date) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a valid date (YYYY-MM-DD)", d)
	}
	return t, nil
}

// HolidayDays returns the number of distinct dates the holidays cover, in
// time proportional to the number of holidays, not of days.
func HolidayDays(holidays []v1alpha1.Holiday) (int, error) {
	type span struct{ from, to time.Time }
	spans := make([]span, 0, len(holidays))
	for _, h := range holidays {
		from, err := ParseDate(h.From)
		if err != nil {
			return 0, fmt.Errorf("holiday %q: from: %w", h.Name, err)
		}
		to, err := ParseDate(h.To)
		if err != nil {
			return 0, fmt.Errorf("holiday %q: to: %w", h.Name, err)
		}
		if to.Before(from) {
			return 0, fmt.Errorf("holiday %q: to %s is before from %s", h.Name, h.To, h.From)
		}
		spans = append(spans, span{from, to})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	days := 0
	var end time.Time // last day counted so far
	for i, s := range spans {
		if i > 0 && !s.from.After(end) {
			if !s.to.After(end) {
				continue
			}
			s.from = end.AddDate(0, 0, 1)
		}
		// Unix seconds, not Sub: a time.Duration saturates at about 292
		// years. ParseDate returns UTC midnights, so days are 86400 s.
		days += int((s.to.Unix()-s.from.Unix())/(24*60*60)) + 1
		end = s.to
	}
	return days, nil
}
