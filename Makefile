# petition-operator — see README.md. `make help` lists the targets.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

GO ?= go
# The one version of the operator, its images, the chart and the CLI: the
# file VERSION (make release VERSION=vX.Y.Z overrides it for one release).
VERSION ?= $(shell cat VERSION)
IMG ?= ghcr.io/xinfang/petition-operator:$(VERSION)
DESK_IMG ?= ghcr.io/xinfang/petition-desk:$(VERSION)
CTL_IMG ?= ghcr.io/xinfang/petitionctl:$(VERSION)
LDFLAGS := -X github.com/xinfang/petition-operator/internal/version.Version=$(VERSION)

LOCALBIN := $(CURDIR)/bin
CONTROLLER_GEN_VERSION ?= v0.21.0
GOLANGCI_LINT_VERSION ?= v2.15.0
# Helm: the same version as the helm.sh/helm/v4 module test/packaging renders the
# chart with (go.mod). v4.3 needs k8s.io v0.37 and controller-runtime v0.25.
HELM_VERSION ?= v4.2.4
CONTROLLER_GEN := $(LOCALBIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
GOLANGCI_LINT := $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
HELM := $(LOCALBIN)/helm-$(HELM_VERSION)

# The local control plane built from Go modules by hack/controlplane.sh.
LOCAL_KUBECONFIG := $(LOCALBIN)/local-cluster/kubeconfig
KUBECONFIG ?= $(LOCAL_KUBECONFIG)
export KUBECONFIG
KUBECTL = $(shell hack/controlplane.sh)/kubectl

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs, RBAC and webhook configurations from the API types and markers.
	$(CONTROLLER_GEN) crd rbac:roleName=manager-role webhook paths="./api/..." paths="./controllers/..." paths="./internal/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac output:webhook:artifacts:config=config/webhook
	rm -rf charts/petition-operator/crds && mkdir -p charts/petition-operator/crds
	cp config/crd/bases/*.yaml charts/petition-operator/crds/
	mkdir -p charts/petition-operator/files && cp config/rbac/role.yaml charts/petition-operator/files/manager-role.yaml
	cp config/webhook/manifests.yaml charts/petition-operator/files/webhook-manifests.yaml

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="./api/..."

.PHONY: verify
verify: manifests generate fmt tidy ## Fail when generated files, formatting or go.mod are not committed, or git tracks an executable or a large binary (hack/check-binaries.sh).
	@hack/check-binaries.sh
	@if [ -n "$$(git status --porcelain -- api config charts controllers go.mod go.sum '*.go')" ]; then \
		echo "generated files are stale; run 'make manifests generate fmt tidy' and commit:"; \
		git status --porcelain -- api config charts controllers go.mod go.sum '*.go'; git --no-pager diff --stat; exit 1; \
	fi

.PHONY: tidy
tidy: ## Tidy go.mod and go.sum.
	$(GO) mod tidy

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -l -w $$(find . -name '*.go' -not -path './bin/*')

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: controlplane
controlplane: ## Build (once, then cached under bin/k8s/) etcd, kube-apiserver, kube-controller-manager, kubectl.
	@hack/controlplane.sh >/dev/null

.PHONY: nodes
nodes: ## Build (once, then cached under bin/nodes/) kube-scheduler and kwok, which run the pods on simulated nodes.
	@hack/nodes.sh >/dev/null

# Each fuzz target runs this many inputs in `make test`, after go test ./...
# has run its seeds (f.Add and testdata/fuzz/) with the other tests. A count, not a duration: with a duration, Go 1.26's fuzz coordinator
# may report a bare "context deadline exceeded" when the time is up
# (golang/go#75804, fixed in Go 1.27), which would fail CI for nothing.
TEST_FUZZTIME ?= 3000x
.PHONY: test
test: manifests generate vet controlplane nodes ## After manifests, generate, vet: go test ./... -race (unit, envtest, e2e on kwok nodes, packaging, corpus, fuzz seeds), then TEST_FUZZTIME (3000x) inputs per fuzz target. Not chaos, benchmarks or long fuzzing.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" NODES_ASSETS="$$(hack/nodes.sh)" $(GO) test ./... -count=1 -race -coverprofile=cover.out
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

##@ Build

.PHONY: build
build: ## Build the manager, petitionctl (also as the kubectl plugin kubectl-petition) and desk into bin/.
	$(GO) build -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/manager ./cmd/manager
	$(GO) build -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/petitionctl ./cmd/petitionctl
	cp $(LOCALBIN)/petitionctl $(LOCALBIN)/kubectl-petition
	$(GO) build -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/desk ./cmd/desk

.PHONY: run
# Where the API server reaches the webhooks of `make run`: this machine, with a
# certificate the operator makes itself. RUN_ARGS=--enable-webhooks=false runs
# without them, for a cluster that cannot reach this machine.
WEBHOOK_URL ?= https://127.0.0.1:9443
RUN_ARGS ?= --webhook-local-url $(WEBHOOK_URL) --webhook-cert-dir $(LOCALBIN)/webhook-certs
run: manifests generate ## Run the manager from source against the cluster of $KUBECONFIG, with its webhooks.
	$(GO) run -ldflags '$(LDFLAGS)' ./cmd/manager --metrics-bind-address 127.0.0.1:8080 --health-probe-bind-address 127.0.0.1:8081 $(RUN_ARGS)

# The registry and path make images-push pushes to: $(REGISTRY)/petition-operator,
# petition-desk and petitionctl, each tagged $(VERSION).
REGISTRY ?= ghcr.io/xinfang
.PHONY: images
images: ## Build the manager, desk and petitionctl images for linux/amd64 and linux/arm64 as OCI image layouts in bin/images/ (no Docker needed; reproducible from the commit).
	$(GO) run ./hack/images build --version $(VERSION) --out $(LOCALBIN)/images

.PHONY: images-push
images-push: images ## Push the images of bin/images/ to $(REGISTRY)/{petition-operator,petition-desk,petitionctl}:$(VERSION) with docker login's credentials.
	$(GO) run ./hack/images push --version $(VERSION) --out $(LOCALBIN)/images --registry $(REGISTRY)

REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
.PHONY: docker-build
docker-build: ## Build the operator, desk and petitionctl images with a Docker engine (the Dockerfile); make images needs none.
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --target manager -t $(IMG) .
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --target desk -t $(DESK_IMG) .
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --target petitionctl -t $(CTL_IMG) .

##@ Local control plane

.PHONY: cluster-up
cluster-up: nodes ## Start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and 3 kwok nodes on loopback; kubeconfig in bin/local-cluster/.
	hack/cluster.sh up

.PHONY: cluster-down
cluster-down: ## Stop the local control plane and remove its data.
	hack/cluster.sh down

##@ Benchmarks

BENCH_ARGS ?=
.PHONY: bench
bench: controlplane ## Build bin/manager and run test/bench: the operator against the API server, 2,000 offices (BENCH_ARGS="--offices 5000"). The Go benchmarks are bench-go.
	$(GO) build -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/manager ./cmd/manager
	$(GO) run ./test/bench $(BENCH_ARGS)

.PHONY: bench-go
bench-go: ## Run every Go benchmark of internal/network (routing compiler, windows, validation at 5,000 offices) and internal/tenant (render, patch bombs).
	$(GO) test ./internal/network/ ./internal/tenant/ -run '^$$' -bench . -benchmem

.PHONY: chaos
chaos: controlplane nodes ## Run the reliability suite (test/chaos): crashes, failover, API server outage, drift, poison, data safety.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" NODES_ASSETS="$$(hack/nodes.sh)" $(GO) test -tags chaos ./test/chaos/ -count=1 -v -timeout 80m

# The native Go fuzz targets; their seed corpora (f.Add and testdata/fuzz/)
# run with every `make test`.
# A duration here may end in that same spurious "context deadline exceeded"
# until Go 1.27; a count (FUZZTIME=1000000x) cannot.
FUZZTIME ?= 2m
# How long the fuzzer may minimise a new input: the tenant patch judge renders
# with kustomize, and minimising by time (60 s by default) stalls the run.
FUZZMINIMIZETIME ?= 10x
FUZZ_TARGETS ?= $(shell grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
.PHONY: fuzz
fuzz: ## Fuzz each native Go fuzz target for FUZZTIME (default 2m); findings land in testdata/fuzz/ to commit.
	@for pkg in $(FUZZ_TARGETS); do \
		for target in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) || exit 1; \
		done; \
	done

.PHONY: demo
demo: nodes ## Bring up the local control plane, install the CRDs, run the operator and apply the sample network.
	hack/demo.sh

.PHONY: demo-down
demo-down: ## Stop the demo's operator and the local control plane.
	hack/demo.sh down

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster of $KUBECONFIG.
	$(KUBECTL) apply --server-side --force-conflicts -f config/crd/bases

.PHONY: uninstall
uninstall: ## Remove the CRDs (and with them every object of these kinds!) from the cluster of $KUBECONFIG.
	$(KUBECTL) delete --ignore-not-found -f config/crd/bases

# The Helm release of `make deploy`: its name, its namespace and extra
# arguments for `helm upgrade --install`, e.g.
#   make deploy HELM_ARGS="--set webhook.certs=certManager --set replicaCount=2"
RELEASE ?= petition-operator
NAMESPACE ?= petition-operator-system
HELM_ARGS ?=
# IMG split into repository and tag: the tag follows the last ':' after the
# last '/' ("registry:5000/name" has none, and the chart's appVersion is used).
IMG_NAME = $(lastword $(subst /, ,$(IMG)))
IMG_TAG = $(if $(findstring :,$(IMG_NAME)),$(lastword $(subst :, ,$(IMG_NAME))))
IMG_REPOSITORY = $(if $(IMG_TAG),$(patsubst %:$(IMG_TAG),%,$(IMG)),$(IMG))

.PHONY: deploy
deploy: manifests $(HELM) ## Install or upgrade the operator (Helm chart, IMG and DESK_IMG) in the cluster of $KUBECONFIG.
	$(KUBECTL) get namespace $(NAMESPACE) >/dev/null 2>&1 || $(KUBECTL) create namespace $(NAMESPACE)
	$(KUBECTL) label --overwrite namespace $(NAMESPACE) \
		pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest
	$(HELM) upgrade --install $(RELEASE) charts/petition-operator --namespace $(NAMESPACE) \
		--set image.repository=$(IMG_REPOSITORY) --set image.tag=$(IMG_TAG) --set tenant.image=$(DESK_IMG) \
		--wait=hookOnly $(HELM_ARGS)

.PHONY: undeploy
undeploy: $(HELM) ## Uninstall the operator release; CRDs, offices and tenants stay (see docs/install.md).
	$(HELM) uninstall $(RELEASE) --namespace $(NAMESPACE) --ignore-not-found

# make release's install manifests name the images under $(REGISTRY), and
# make chart-push pushes the chart to oci://$(REGISTRY)/charts.
.PHONY: release
release: images ## Build a release of $(VERSION) into dist/: CLI archives (linux, darwin; amd64, arm64), image OCI archives with SBOMs, chart, install.yaml, krew manifest, checksums.txt.
	$(GO) run ./hack/release --version $(VERSION) --registry $(REGISTRY) --images bin/images --out dist

.PHONY: chart-push
chart-push: $(HELM) ## Push dist/'s packaged chart to oci://$(REGISTRY)/charts (after make release; helm registry login first).
	$(HELM) push dist/petition-operator-$(patsubst v%,%,$(VERSION)).tgz oci://$(REGISTRY)/charts

.PHONY: helm-lint
helm-lint: manifests $(HELM) ## Lint the Helm chart with its default values and each optional part.
	$(HELM) lint --strict charts/petition-operator
	$(HELM) lint --strict charts/petition-operator --set webhook.certs=certManager --set replicaCount=2 \
		--set serviceMonitor.enabled=true --set networkPolicy.enabled=true --set grafanaDashboard.enabled=true \
		--set watchLabelSelector=petition.xinfang.io/shard=east
	$(HELM) lint --strict charts/petition-operator --set webhook.enabled=false --set leaderElection=false --set metrics.enabled=false \
		--set admissionPolicy.enabled=false

##@ Tools

$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN)/.tmp-cg $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(LOCALBIN)/.tmp-cg/controller-gen $@ && rm -rf $(LOCALBIN)/.tmp-cg

$(HELM):
	GOBIN=$(LOCALBIN)/.tmp-helm $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	mv $(LOCALBIN)/.tmp-helm/helm $@ && rm -rf $(LOCALBIN)/.tmp-helm

$(GOLANGCI_LINT):
	GOBIN=$(LOCALBIN)/.tmp-gl $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/.tmp-gl/golangci-lint $@ && rm -rf $(LOCALBIN)/.tmp-gl
