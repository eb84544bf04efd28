# Images of petition-operator, one per target: manager (the operator, the
# default), desk (the tenant service of each office) and petitionctl.
#
#   docker build --build-arg VERSION=v0.1.0 -t ghcr.io/xinfang/petition-operator:v0.1.0 .
#   docker build --target desk -t ghcr.io/xinfang/petition-desk:v0.1.0 .
#   (or: make docker-build)

FROM golang:1.26 AS builder
# Set by BuildKit (docker buildx build --platform ...); empty means the
# builder's own platform.
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev

WORKDIR /workspace

# Dependencies first, so that this layer stays cached until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/

ENV CGO_ENABLED=0
RUN for cmd in manager desk petitionctl; do \
      GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath \
        -ldflags "-s -w -X github.com/xinfang/petition-operator/internal/version.Version=${VERSION}" \
        -o /out/${cmd} ./cmd/${cmd} || exit 1; \
    done

# Static, distroless, no shell; each image runs as the unprivileged user
# "nonroot" (65532).

# The reference tenant service of an office: docker build --target desk .
FROM gcr.io/distroless/static:nonroot AS desk
COPY --from=builder /out/desk /desk
USER 65532:65532
ENTRYPOINT ["/desk"]

# The CLI: docker build --target petitionctl .
FROM gcr.io/distroless/static:nonroot AS petitionctl
COPY --from=builder /out/petitionctl /petitionctl
USER 65532:65532
ENTRYPOINT ["/petitionctl"]

# The operator, the default target.
FROM gcr.io/distroless/static:nonroot AS manager
COPY --from=builder /out/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
