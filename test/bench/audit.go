package main

import (
	"slices"

	"github.com/xinfang/petition-operator/internal/testenv"
)

// writes returns user's writes recorded since the last read of the audit
// log, but for those to resources in ignore (the webhook configurations a
// manager installs for itself when it starts).
func writes(a *testenv.AuditLog, user string, ignore ...string) ([]testenv.AuditEvent, error) {
	events, err := a.Read()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(testenv.By(events, user), func(e testenv.AuditEvent) bool {
		return slices.Contains(ignore, e.ObjectRef.Resource)
	}), nil
}
