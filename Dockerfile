# Image of petition-operator: /manager (the operator, the entrypoint) and
# /desk (the reference tenant service of an office, run with
# `command: ["/desk"]`).
#
#   docker build --build-arg VERSION=v0.1.0 -t ghcr.io/xinfang/petition-operator:v0.1.0 .
#   (or: make docker-build IMG=...)

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
RUN GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath \
        -ldflags "-s -w -X github.com/xinfang/petition-operator/internal/version.Version=${VERSION}" \
        -o /manager ./cmd/manager \
 && GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath \
        -ldflags "-s -w -X github.com/xinfang/petition-operator/internal/version.Version=${VERSION}" \
        -o /desk ./cmd/desk

# Static, distroless, no shell; runs as the unprivileged user "nonroot".
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /manager /manager
COPY --from=builder /desk /desk
USER 65532:65532
ENTRYPOINT ["/manager"]
