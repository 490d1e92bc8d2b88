# One image for the stack's processes: the worker (default), the event API, and the one-shot commands
# (migrate, ingest start, maintenance schedule, metabase). It runs the compiled JavaScript and the
# workflow bundle of `npm run build`: no TypeScript loader, no webpack at start-up, no dev dependencies.
# Node 24 (LTS, supported until April 2028), pinned to a patch release: bump NODE_IMAGE deliberately.
ARG NODE_IMAGE=node:24.20.0-trixie-slim
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE}
# jemalloc under every process of the image, as `up` runs the worker (stack/node-flags.ts has why and
# the figures; the test of the node flags keeps MALLOC_CONF the same as there).
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(dpkg -L libjemalloc2 | grep '/libjemalloc.so.2$')" /usr/local/lib/libjemalloc.so.2
ENV NODE_ENV=production \
    DATA_DIR=/data \
    RESTAURANT_STACK_COMPILED=1 \
    LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0,narenas:2
WORKDIR /app
# Nothing in the stack needs an install script (the Temporal core bridge ships its binaries in the package).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data

USER node
ENTRYPOINT ["node", "bin/restaurant-stack.js"]
CMD ["worker"]
