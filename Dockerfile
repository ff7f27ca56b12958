FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY migrations ./migrations
# Editable, so the app finds migrations/ beside the package.
RUN pip install --no-cache-dir -e . && useradd --system --uid 10001 bridge
USER bridge
EXPOSE 8000
CMD ["gunicorn", "-c", "python:bridge.gunicorn_conf", "bridge.wsgi:app"]
