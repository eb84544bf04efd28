package main

import (
	"testing"

	"github.com/go-logr/logr"
)

func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		want   int64
		wantOK bool
	}{
		{"unset", nil, 0, false},
		{"container limit", map[string]string{memoryLimitEnv: "671088640"}, 603979776, true},
		{"GOMEMLIMIT wins", map[string]string{memoryLimitEnv: "671088640", "GOMEMLIMIT": "300MiB"}, 0, false},
		{"not a number", map[string]string{memoryLimitEnv: "640Mi"}, 0, false},
		{"zero", map[string]string{memoryLimitEnv: "0"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := memoryLimit(func(k string) string { return tc.env[k] }, logr.Discard())
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("memoryLimit = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
