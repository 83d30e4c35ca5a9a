# The platform's image: one image for every part, the `facility` command as its entry point;
# docker-compose.yml runs one sub-command per service (ingest, api, simulate, export mosquitto…).

# The compiled command (dist/, scripts/build.js) and the operator page (dashboards/live/dist/,
# scripts/build-live.js): the builds need the sources, TypeScript and Vite, development
# dependencies, so they run in a stage of their own.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build dist/ and the page, which need the sources, TypeScript
# and Vite; the build stage did it.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY . .
# bin/facility.js runs it once it checked it is the build of these sources (scripts/build-state.js).
COPY --from=build /app/dist ./dist
# The operator page the api serves at /.
COPY --from=build /app/dashboards/live/dist ./dashboards/live/dist
# The data folder (dead-letter and app state, generated secrets) belongs to the unprivileged user.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
ENTRYPOINT ["node", "bin/facility.js"]
CMD ["start"]
