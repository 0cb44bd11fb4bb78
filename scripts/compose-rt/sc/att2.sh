cat > compose.yaml <<'Y'
services:
  db:
    image: localbusybox
    init: true
    command: ["sh", "-c", "echo db-ready; exec sleep 1000"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms
  app:
    image: localbusybox
    init: true
    command: ["sh", "-c", "echo app-run; exit 0"]
    depends_on:
      db: {condition: service_healthy}
Y
r up app
r up --attach-dependencies --abort-on-container-exit app
r up --no-attach db --exit-code-from app
r up -d --wait
r up --no-recreate app
r down -t 0
