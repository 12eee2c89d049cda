# syntax=docker/dockerfile:1.7
# archshift image for linux/amd64 and linux/arm64 (archshift runs on the architecture it promotes):
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/acme/archshift:0.1.0 --push .
# There is no build step: tsx runs the TypeScript sources, so the image holds sources + production deps.
# For reproducible builds, pin both base images by digest (node:20-bookworm-slim@sha256:..., and the distroless one).

# --- deps: production node_modules for the TARGET architecture, installed on the BUILD host ----------
# npm picks each optional native package (@esbuild/linux-arm64, @resvg/resvg-js-linux-arm64-gnu, ...)
# by --os/--cpu, so an arm64 image needs no QEMU emulation; nothing needs an install script.
FROM --platform=$BUILDPLATFORM node:20-bookworm-slim AS deps
ARG TARGETARCH
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    cpu="$(case "$TARGETARCH" in amd64) echo x64;; *) echo "$TARGETARCH";; esac)" && \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --os=linux --cpu="$cpu" --libc=glibc

# --- fonts: the digest chart's text (resvg finds no system fonts in distroless otherwise) ------------
FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS fonts
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*

# --- runtime: distroless Node 20 (glibc, no shell, no package manager), user 65532 -------------------
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=fonts /usr/share/fonts/truetype/dejavu /usr/share/fonts/truetype/dejavu
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY commands ./commands
COPY src ./src
USER 65532:65532
# 8080: /healthz, /readyz, /metrics. 3000: Slack's Events API in HTTP mode (Socket Mode needs no port).
EXPOSE 8080 3000
ENTRYPOINT ["/nodejs/bin/node", "--import", "tsx", "src/main.ts"]
CMD ["--config", "/etc/archshift/archshift.yml"]
