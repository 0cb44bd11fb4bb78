cat > compose.yaml <<'Y'
services:
  a:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
  b:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    depends_on:
      a: {condition: service_started, restart: true}
Y
r up --no-start
r ps -a
r start b
r restart a
r restart --no-deps a
r stop a
r restart b
r ps -a --format "'{{.Service}} {{.State}}'"
r pause
r pause
r unpause a
r stop
r stop
r unpause
r restart
r rm
r rm -f
r up -d --no-deps b
r ps -a --format "'{{.Service}} {{.State}}'"
r down --remove-orphans -t 1
r down
