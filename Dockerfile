# One image for all five Meldpunt Hub services; the command picks the service:
#   docker run … meldpunt-hub python -m hub.runner triage
# docker-compose.yml runs it once per service, and once more as `setup` (migrate + declare).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MELDPUNT_HTTP_HOST=0.0.0.0 \
    MELDPUNT_REGION=/app/deploy/regions/demo.yaml \
    MELDPUNT_VAR_DIR=/tmp/meldpunt

WORKDIR /app

# Only what the hub needs at run time: no .venv, var/, tests or .git from the build context.
COPY pyproject.toml ./
COPY hub ./hub
COPY shared ./shared
COPY services ./services
COPY deploy ./deploy

# Installed in place (-e): the code finds its SQL migrations and region files next to the
# source (shared/config.py REPO_ROOT), and a wheel in site-packages would not carry all of them.
RUN pip install -e . \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin meldpunt

USER meldpunt

EXPOSE 8001 8002 8003 8004 8005 8006

CMD ["python", "-m", "hub.runner", "intake"]
