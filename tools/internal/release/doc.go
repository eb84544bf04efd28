// Package release assembles a release of petition-operator from what the
// build made: the CLI archives and the krew plugin manifest that installs
// them, a CycloneDX SBOM of each image (from the build information of the
// program inside it), the install manifests rendered from config/default with
// the version pinned, the packaged chart, and checksums.txt over all of it.
// tools/release drives it; `make release VERSION=vX.Y.Z` runs that.
package release
