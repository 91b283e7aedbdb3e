# One image for every Shipshape process; docker-compose.yml picks the entry point per service.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY test ./test
COPY tooling ./tooling
COPY bin ./bin
RUN npm ci && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
CMD ["node", "--max-semi-space-size=4", "dist/workers/api.js"]
