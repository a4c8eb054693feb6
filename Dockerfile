# syntax=docker/dockerfile:1
# One image for every Herald process; pick the role with the command:
#   api     -> herald api      (HTTP on 0.0.0.0:8000, serves ui/dist)
#   worker  -> herald worker   (Temporal worker)
#   migrate -> herald migrate  (Alembic upgrade head, then exits)

# ---- ui: build the single-page app -------------------------------------------
FROM node:20-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npm run build

# ---- runtime -----------------------------------------------------------------
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Project source (filtered by .dockerignore), then install it with its
# dependencies and the `herald` console script.
COPY . .
RUN pip install . \
    && useradd --system --create-home --home-dir /home/herald --uid 10001 herald \
    && mkdir -p /app/.data \
    && chown herald /app/.data

COPY --from=ui /src/ui/dist /app/ui/dist

# core/settings.py and core/db.py locate ui/dist and models/migrations relative
# to the source tree, so run the code from /app (PYTHONPATH wins over the copy
# in site-packages; the wheel does not carry the Alembic script template).
ENV PYTHONPATH=/app \
    DATA_DIR=/app/.data \
    UI_DIST_DIR=/app/ui/dist \
    API_HOST=0.0.0.0 \
    API_PORT=8000

USER herald
EXPOSE 8000
CMD ["herald", "api"]
