# syntax=docker/dockerfile:1
# Release Server image: TypeScript compiled in a build stage, production
# dependencies installed in their own stage, and a distroless runtime holding
# only dist/, production node_modules, package.json, openapi.yaml and static/
# (the pages' stylesheet and scripts).
# test/image.e2e.test.ts lays this file's COPY lines out on disk and runs the
# end-to-end smoke test against the result, so keep COPY sources explicit.

# Production dependencies only (busboy, yaml: pure JavaScript, so the build
# platform's install works for every target architecture).
FROM --platform=$BUILDPLATFORM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Compile TypeScript. Optional dependencies are the Bun and Deno binaries the
# tests use; the compiler does not need them.
FROM --platform=$BUILDPLATFORM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# data/ becomes the image's /data, owned by the non-root user, so a fresh
# named volume is writable.
RUN npm run build && mkdir data

FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production \
    STORAGE_PATH=/data \
    HOST=0.0.0.0 \
    PORT=8000 \
    REQUIRE_AUTH_TOKEN=true
COPY package.json openapi.yaml ./
COPY static ./static
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build --chown=nonroot:nonroot /app/data /data
USER nonroot
EXPOSE 8000
VOLUME /data
# The distroless entrypoint is node itself; no shell in the image.
CMD ["dist/main.js"]
