// Package version holds the build version of the binaries.
package version

// Version is set at build time with -ldflags -X.
var Version = "dev"
