cat > compose.yaml <<'Y'
services:
  a:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
Y
r up -d
r pause a
r exec -T a true
r kill -s NOPE a
r stop a
r ps -a --format "'{{.State}}'"
r up -d
r pause
r restart a
r ps -a --format "'{{.State}}'"
r kill -s SIGUSR1 a
r ps -a --format "'{{.State}}'"
r down -t 0
