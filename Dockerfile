# syntax=docker/dockerfile:1.7
# archshift image for linux/amd64 and linux/arm64 (archshift runs on the architecture it promotes):
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/acme/archshift:0.1.0 --push .
# The build stage compiles the TypeScript to dist/ (plain node at run time: no tsx loader, ~90 MB less RSS);
# the image holds dist/ + production deps, no sources.
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

# --- build: TypeScript -> dist/ (JS is the same on every arch, so this runs once, natively) ---------------
FROM --platform=$BUILDPLATFORM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY commands ./commands
COPY src ./src
RUN npm run build

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
COPY --from=build /app/dist ./dist
USER 65532:65532
# 8080: /healthz, /readyz, /metrics. 3000: Slack's Events API in HTTP mode (Socket Mode needs no port).
EXPOSE 8080 3000
ENTRYPOINT ["/nodejs/bin/node", "dist/src/main.js"]
CMD ["--config", "/etc/archshift/archshift.yml"]
