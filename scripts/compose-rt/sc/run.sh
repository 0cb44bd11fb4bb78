cat > compose.yaml <<'Y'
services:
  web:
    image: localbusybox
    init: true
    command: ["sh", "-c", "exec sleep 1000"]
    ports: ["8080:80"]
    environment:
      A: one
  db:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
  tool:
    image: localbusybox
    init: true
    entrypoint: ["sh", "-c"]
    command: ["echo tool $$A"]
    environment: {A: x}
    depends_on: [db]
Y
r run --rm tool
r run --rm -e A=y tool
r run --rm --no-deps tool "'echo hi; exit 4'"
r run --rm --entrypoint echo tool hello
r run --rm -T web sh -c "'echo out; echo err >&2; exit 2'"
r run --rm web nosuchcmd
r run --rm nope true
r ps -a
r run -d --name fixed web
r ps -a --format "'{{.Name}} {{.Service}}'"
r run --rm -P -d web
r port web 80
r run --rm --no-TTY web sh -c "'exit 0'"
r rm -f -s
r down -v --remove-orphans -t 0
