cat > compose.yaml <<'Y'
services:
  web:
    image: localbusybox
    init: true
    command: ["sh", "-c", "echo web up; echo err >&2; exec sleep 1000"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms
  dep:
    image: localbusybox
    init: true
    command: ["sh", "-c", "echo dep; exit 0"]
  api:
    image: localbusybox
    init: true
    command: ["sh", "-c", "echo api; exec sleep 1000"]
    depends_on:
      web: {condition: service_healthy}
      dep: {condition: service_completed_successfully}
Y
r up -d --wait
r ps
r ps -a
r ps -q
r ps --services
r ps --status running
r ps --status exited -a
r ps --filter status=exited
r ps --format json
r "ps --format '{{.Name}} {{.Service}} {{.State}}'"
r logs --tail 1 web
r logs --no-log-prefix api
r logs nope
r exec web sh -c "'exit 3'"
r exec -T web pwd
r exec -T -e FOO=bar web sh -c "'echo \$FOO'"
r exec -T -w /tmp web pwd
r exec -T -u 1000 web id -u
r exec -T --index 2 web true
r exec -T web nosuchcmd
r exec -T nope true
r exec -T dep true
r top
r port web 80
r images
r ls
r ls -a -q
r stop api
r ps -a
r start api
r restart web
r kill -s KILL api
r ps -a
r rm -f -s api
r pause web
r ps
r unpause web
r down -t 1
