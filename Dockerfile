# Images of petition-operator, one per target: manager (the operator, the
# default), desk (the tenant service of each office), registry (the case
# registry of a City) and petitionctl.
#
#   docker build --build-arg VERSION=v0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     -t ghcr.io/xinfang/petition-operator:v0.1.0 .
#   docker build --target desk -t ghcr.io/xinfang/petition-desk:v0.1.0 .
#   (or: make docker-build)
#
# Without a Docker engine, `make images` builds the same images (user,
# entrypoint, labels) as OCI image layouts, from no base image at all. The
# test tools/test/images/dockerfile_test.go builds every package below from exactly
# the context this file's COPY lines and .dockerignore give the builder.

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
# Embedded in the binaries: the manager's webhook configuration and the
# CRDs petitionctl validates against.
COPY config/crd/ config/crd/
COPY config/webhook/ config/webhook/

ENV CGO_ENABLED=0
RUN GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath \
      -ldflags "-s -w -X github.com/xinfang/petition-operator/internal/version.Version=${VERSION}" \
      -o /out/ ./cmd/manager ./cmd/desk ./cmd/registry ./cmd/petitionctl

# Static, distroless, no shell; each image runs as the unprivileged user
# "nonroot" (65532) with the labels make images gives its images.

# The reference tenant service of an office: docker build --target desk .
FROM gcr.io/distroless/static:nonroot AS desk
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="petition-desk" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/xinfang/petition-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/desk /desk
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/desk"]

# The case registry of a City: docker build --target registry .
FROM gcr.io/distroless/static:nonroot AS registry
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="petition-registry" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/xinfang/petition-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/registry /registry
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/registry"]

# The CLI: docker build --target petitionctl .
FROM gcr.io/distroless/static:nonroot AS petitionctl
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="petitionctl" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/xinfang/petition-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/petitionctl /petitionctl
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/petitionctl"]

# The operator, the default target.
FROM gcr.io/distroless/static:nonroot AS manager
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="petition-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/xinfang/petition-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/manager /manager
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/manager"]
