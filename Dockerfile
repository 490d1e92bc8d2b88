# One image for the stack's processes: the worker (default), the event API, and the one-shot commands
# (migrate, ingest start, maintenance schedule, metabase). TypeScript runs through tsx: no build step.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    DATA_DIR=/data

WORKDIR /app

# Nothing in the stack needs an install script (the Temporal core bridge ships its binaries in the package).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

COPY . .
RUN mkdir -p /data && chown node:node /data

USER node
ENTRYPOINT ["node", "bin/restaurant-stack.js"]
CMD ["worker"]
