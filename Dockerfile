# LeadSail Sandbox on one port. Not built on the project's machines (no container engine there):
# it is linted with hadolint in the tests; see README "Docker".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SANDBOX_HOST=0.0.0.0 \
    SANDBOX_PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY sandbox ./sandbox
# The public contract lives at the repository root; ship it inside the package for a plain install.
COPY openapi.yaml ./sandbox/openapi.yaml
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 sandbox

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/_sandbox/scenarios')"]
ENTRYPOINT ["leadsail-sandbox"]
