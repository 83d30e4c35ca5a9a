# The platform's image: one image for every part, the `facility` command as its entry point;
# docker-compose.yml runs one sub-command per service (ingest, api, simulate, export mosquitto…).
FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
# The data folder (dead-letter and app state, generated secrets) belongs to the unprivileged user.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
ENTRYPOINT ["node", "bin/facility.js"]
CMD ["start"]
