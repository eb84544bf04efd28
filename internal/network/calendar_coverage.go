package network

import "time"

// Covers reports whether the calendar covers the date: whether the date's
// year holds any of the calendar's holidays or adjusted working days, so
// that the calendar can be taken to know that year's. A nil calendar — an
// office that names none — has no holidays by choice and covers every date.
func (c *Calendar) Covers(day time.Time) bool {
	if c == nil {
		return true
	}
	y := day.Year()
	for _, h := range c.holidays {
		if h.from.Year() <= y && y <= h.to.Year() {
			return true
		}
	}
	for _, w := range c.workdayList {
		if w.Year() == y {
			return true
		}
	}
	return false
}
