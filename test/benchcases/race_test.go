//go:build race

package main

// raceFlags build the registry of TestSmoke as the test is built, so that
// it reuses the packages go test -race compiled.
var raceFlags = []string{"-race"}
