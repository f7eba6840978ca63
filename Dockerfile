# adamtune in one image: `adamtune serve` (dashboard + REST API + embedded workers) by default,
# or a lone worker with the command `adamtune worker`. See docs/DOCKER.md.
#
#   docker build -t adamtune .
#   docker run -d --init -p 127.0.0.1:8000:8000 -v adamtune-data:/data adamtune
#
# Everything is configured with ADAMTUNE_* environment variables (app/config.py).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# 1. The CPU build of torch first, from PyTorch's CPU index: `torch>=2.3` in pyproject.toml is then
#    already satisfied and pip never pulls the multi-GB CUDA build from PyPI. A base image that
#    already has this torch (CPU) keeps it: pip finds the requirement satisfied and downloads nothing.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --index-url "$TORCH_INDEX_URL" "torch==$TORCH_VERSION" \
    && python -W ignore -c "import torch; assert not torch.version.cuda, 'a CUDA build of torch'"

# 2. The dependencies alone, read from pyproject.toml: this layer stays cached while only the
#    code changes.
COPY pyproject.toml README.md /tmp/adamtune/
RUN python -c "import tomllib; deps = tomllib.load(open('/tmp/adamtune/pyproject.toml', 'rb'))['project']['dependencies']; print(*deps, sep=chr(10))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# 3. The project itself (app, optim and the dashboard's static files), then drop the sources:
#    the image runs the installed package only.
COPY app /tmp/adamtune/app
COPY adamtune /tmp/adamtune/adamtune
COPY optim /tmp/adamtune/optim
COPY frontend /tmp/adamtune/frontend
RUN pip install --no-deps /tmp/adamtune \
    && rm -rf /tmp/adamtune \
    && adamtune tasks >/dev/null

# 4. A non-root user; the database lives in the volume at /data (owned by that user, so a fresh
#    named volume starts writable).
RUN useradd --create-home --uid 10001 --user-group adamtune \
    && mkdir /data \
    && chown adamtune:adamtune /data
ENV ADAMTUNE_DATABASE_URL=sqlite:////data/adamtune.db \
    ADAMTUNE_HOST=0.0.0.0 \
    ADAMTUNE_PORT=8000
VOLUME ["/data"]
USER adamtune
WORKDIR /home/adamtune
EXPOSE 8000

# /healthz answers 200 once the database answers. curl is not in the slim image: Python's urllib.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ADAMTUNE_PORT', '8000'), timeout=4)"

CMD ["adamtune", "serve"]
