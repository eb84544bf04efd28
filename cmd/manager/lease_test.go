package main

import (
	"strings"
	"testing"
	"time"
)

func TestLeaseTimings(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		lease, renew, retry time.Duration
		want                string
	}{
		{15 * s, 10 * s, 2 * s, ""},
		{8 * s, 5 * s, 1 * s, ""},
		{10 * s, 10 * s, 2 * s, "--leader-elect-lease-duration 10s: must be more than --leader-elect-renew-deadline (10s)"},
		{15 * s, 2 * s, 2 * s, "--leader-elect-renew-deadline 2s: must be more than 1.2 × --leader-elect-retry-period (2s)"},
		{15 * s, 10 * s, 0, "--leader-elect-retry-period 0s: must be positive"},
		{6 * s, 5 * s, 1 * s, "--leader-elect-lease-duration 6s: must be more than --leader-elect-renew-deadline + --leader-elect-retry-period (6s)"},
	} {
		err := leaseTimings(tc.lease, tc.renew, tc.retry)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("leaseTimings(%s, %s, %s) = %v, want %q", tc.lease, tc.renew, tc.retry, err, tc.want)
		}
	}
}
