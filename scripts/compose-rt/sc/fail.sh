cat > compose.yaml <<'Y'
services:
  bad:
    image: localbusybox
    init: true
    command: ["sh", "-c", "exit 1"]
  sick:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 100ms
      retries: 2
  needbad:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    depends_on:
      bad: {condition: service_completed_successfully}
  needsick:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    depends_on:
      sick: {condition: service_healthy}
  opt:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    depends_on:
      sick: {condition: service_healthy, required: false}
  nohc:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
  neednohc:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    depends_on:
      nohc: {condition: service_healthy}
Y
r up -d needbad
r up -d needsick
r up -d opt
r up -d neednohc
r up -d --wait bad
r up -d --wait --wait-timeout 1 sick
r up -d --wait nohc
r ps -a --format "'{{.Service}} {{.State}} {{.ExitCode}} {{.Health}}'"
r down -t 0
