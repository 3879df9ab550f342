# syntax=docker/dockerfile:1
#
# Celerity: one image for every role; the CLI command picks it (start | api | worker | beat | openapi).
#
#   docker build -t celerity .
#   docker run --rm -p 3000:3000 -e API_KEYS=secret1,secret2 \
#     -e RABBITMQ_URL=amqp://user:pass@rabbit:5672 -e REDIS_URL=redis://redis:6379/0 celerity api
#   docker run --rm -e HOST=127.0.0.1 -e RABBITMQ_URL=... -e REDIS_URL=... celerity worker --queues high_priority,default
#
# HOST is 0.0.0.0 in this image: a server bound to the container's own loopback cannot be reached
# through a published port. On a non-loopback HOST the configuration REFUSES to start unless API_KEYS
# (comma-separated) is set, so `start` (the default command) and `api` containers need API_KEYS at run
# time. Pass the keys as environment at run time; never bake them into the image. A `worker` serves
# no HTTP but validates the same configuration: give it HOST=127.0.0.1 (as docker-compose.yml does)
# or API_KEYS.
#
# Job modules: JOBS_ROOT defaults to examples/jobs, i.e. /app/examples/jobs here (the sample jobs).
# For your own jobs, mount a directory and point JOBS_ROOT at it; it must lie under /app (so its
# TypeScript and its `@celerity/core` / `zod` imports resolve through /app/node_modules), e.g.
#   -v "$PWD/jobs:/app/jobs:ro" -e JOBS_ROOT=jobs

# Node 24, the active LTS line (README, "Node versions"); 22 and 26 work too:
#   docker build --build-arg NODE_IMAGE=node:26-bookworm-slim -t celerity .
ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Manifests first, so the `npm ci` layer is reused until a dependency changes.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/sdk/package.json packages/sdk/
COPY packages/client/package.json packages/client/
COPY packages/webhook/package.json packages/webhook/
COPY packages/broker/package.json packages/broker/
COPY packages/store/package.json packages/store/
COPY packages/producer/package.json packages/producer/
COPY packages/testkit/package.json packages/testkit/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/beat/package.json apps/beat/
COPY apps/cli/package.json apps/cli/
COPY apps/ui/package.json apps/ui/
RUN npm ci --no-audit --no-fund

# Sources. .dockerignore keeps host node_modules/ and dist/ out of the context, so they cannot
# overwrite what `npm ci` just installed. (examples/ is copied into the runtime stage directly:
# `tsc -b` does not compile it, and editing a job then does not invalidate this build. openapi/ is
# read by the build only, to generate @celerity/client's types: the API renders /openapi.json itself.)
COPY tsconfig*.json ./
COPY openapi ./openapi
COPY packages ./packages
COPY apps ./apps
RUN npm run build

# Drop devDependencies. tsx stays: it is a runtime dependency of apps/worker and apps/cli (job
# modules are TypeScript, loaded at run time), so the lockfile does not mark it dev. Fail the build
# here, not at the first task, if that ever changes.
RUN npm prune --omit=dev --no-audit --no-fund \
 && node -e "require.resolve('tsx/esm/api')"

# Collect each workspace's runtime files into /out with the same relative layout, because
# node_modules/@celerity/* are symlinks to ../../packages/* and ../../apps/*. A workspace may own a
# nested node_modules (today packages/core/node_modules/uuid, a version that differs from the
# hoisted one), so it is taken along when present, as are the store's Lua scripts (lua/, read at
# start-up next to dist/).
RUN set -eu; \
    for ws in $(node -p "require('./package.json').workspaces.join(' ')"); do \
      mkdir -p "/out/$ws"; \
      cp -a "$ws/package.json" "$ws/dist" "/out/$ws/"; \
      if [ -d "$ws/node_modules" ]; then cp -a "$ws/node_modules" "/out/$ws/"; fi; \
      if [ -d "$ws/lua" ]; then cp -a "$ws/lua" "/out/$ws/"; fi; \
    done

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app

# Owned by root and only readable by `node`: the service never writes to its own code. tsx keeps
# its compile cache under /tmp, which `node` can write.
# The root package.json matters at run time too: its "type": "module" makes tsx load the .ts job
# modules as ES modules.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /out/ ./
COPY examples ./examples

USER node
EXPOSE 3000

# Liveness of the HTTP server (GET /health needs no API key). Slim has no curl; Node has fetch.
# A `worker` container answers on WORKER_HEALTH_PORT instead, a `beat` serves no HTTP: docker-compose.yml
# replaces this check for the one and disables it for the other.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Node runs as PID 1 and handles SIGTERM itself (graceful drain, see WORKER_SHUTDOWN_GRACE).
# Heap sizes (docs/benchmarks.md "Memory"): 8 MB semi-spaces promote less of the garbage of requests
# in flight, and a 512 MB old-space limit makes V8 collect it early instead of growing towards its
# default limit; together they hold peak RSS under 150 MiB at no CPU cost. The limit is per isolate:
# a job that needs a bigger heap needs a higher --max-old-space-size here.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--max-old-space-size=512", "apps/cli/dist/main.js"]
CMD ["start"]
