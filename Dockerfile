# One image for web, worker and beat; docker-compose.yml picks the process.
FROM python:3.13-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/app/.venv/bin:$PATH"
RUN apt-get update && apt-get install -y --no-install-recommends make gettext postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock pyproject.toml Makefile ./
RUN python -m venv .tools && .tools/bin/pip install --no-cache-dir uv \
    && .tools/bin/uv venv --python python3.13 .venv \
    && .tools/bin/uv pip sync --python .venv/bin/python --require-hashes requirements.lock
COPY . .
RUN .tools/bin/uv pip install --python .venv/bin/python --no-deps --editable . && touch .venv/.installed
RUN useradd --system --home /app gonogo && mkdir -p /app/var && chown -R gonogo /app/var
USER gonogo
EXPOSE 8000
CMD ["scripts/serve", "web"]
