cat > compose.yaml <<'Y'
services:
  web:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    working_dir: /tmp
    environment: [X=1]
    volumes: [/anon]
  job:
    image: localbusybox
    init: true
    command: ["true"]
Y
r up -d
r exec -T web sh -c "'echo \$X; pwd'"
r exec -T -e X=2 web sh -c "'echo \$X'"
r exec -T --workdir / web pwd
r exec -T --user nobody web id -un
r exec -T --privileged web true
r exec -T -d web sleep 1
r exec -T web sh -c "'exit 7'"
r exec -T web /nonexistent
r exec -T --index 1 web true
r exec -T job true
r exec --no-TTY web true
r exec -T nope true
r scale web=2
r exec -T --index 2 web hostname
r ps -q web
r rm -s -v -f job
r stop -t 0 web
r rm -v -f web
r ps -a
r down --rmi local
