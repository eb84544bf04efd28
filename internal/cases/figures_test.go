package cases

import "testing"

func TestCountsAddAndRatio(t *testing.T) {
	a := Counts{Open: 2, Overdue: 1, Replied: 3, ClosedOnTime: 2, Rated: 1, Satisfied: 1}
	a.Add(Counts{Open: 1, Replied: 1, ClosedOnTime: 1, AcceptanceDue: 4, AcceptedTimely: 3})
	if a.Open != 3 || a.Overdue != 1 || a.Replied != 4 || a.ClosedOnTime != 3 || a.AcceptanceDue != 4 {
		t.Fatalf("sum = %+v", a)
	}
	for _, c := range []struct {
		num, den int64
		want     string
	}{{3, 4, "0.750"}, {2, 3, "0.667"}, {0, 5, "0.000"}, {1, 0, ""}} {
		if got := Ratio(c.num, c.den); got != c.want {
			t.Errorf("Ratio(%d, %d) = %q, want %q", c.num, c.den, got, c.want)
		}
	}
}
