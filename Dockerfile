# Larder's container image: the server as the npm package that `npm pack`
# makes, on a slim Node.js 20 runtime, as a non-root user.
#
#   docker build -t larder .
#   docker run --rm -p 8080:8080 larder                                   # memory store
#   docker run --rm -p 8080:8080 -e REDIS_URL=redis://redis:6379 larder   # Redis
#
# deploy/compose.yaml and deploy/k8s/ run it with Redis; test/deploy checks
# the ports, probe paths and settings here against the server's code.

# --- build: compile the server and the dashboard, and pack them as npm would publish them
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY sdk/ts/package.json sdk/ts/package.json
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY server server
COPY bin bin
COPY dashboard dashboard
COPY scripts/build-dashboard.mjs scripts/build-dashboard.mjs
RUN npx tsc -p tsconfig.build.json \
 && npm run build:dashboard \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && mv /tmp/larder-*.tgz /tmp/larder.tgz

# --- runtime: the package installed globally, production dependencies only
FROM node:20-bookworm-slim
ENV NODE_ENV=production
COPY --from=build /tmp/larder.tgz /tmp/larder.tgz
RUN npm install -g /tmp/larder.tgz --omit=dev --no-audit --no-fund \
 && rm /tmp/larder.tgz \
 && npm cache clean --force
# The image's own unprivileged user (uid 1000); Larder writes no files.
USER node
WORKDIR /home/node
ENV LARDER_PORT=8080 \
    LARDER_HOST=0.0.0.0
EXPOSE 8080
# Liveness over loopback. With LARDER_TLS_CERT set it asks over HTTPS
# without checking the certificate: it only asks whether this process
# answers. (With client certificates required, override this check.)
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "const s=process.env.LARDER_TLS_CERT?require('node:https'):require('node:http');s.get({host:'127.0.0.1',port:process.env.LARDER_PORT||8080,path:'/healthz',rejectUnauthorized:false,timeout:2000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# SIGTERM (docker stop) drains calls in flight, up to drainTimeoutMs
# (10 s by default): give `docker stop -t` more than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["larder"]
CMD ["serve"]
