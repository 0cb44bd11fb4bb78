cat > compose.yaml <<'Y'
services:
  web:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    ports: ["127.0.0.1:18081:80", "53/udp"]
    volumes: [data:/data, /anon]
  other:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    profiles: [extra]
volumes:
  data:
Y
r up -d
r port web 80
r port --protocol udp web 53
r port web 81
r port nope 80
r ps --format '{{.Ports}}'
r ps --format "'table {{.Name}}\t{{.State}}'"
r images -q
r images --format json
r ls -q
r ls --format json
r ls --filter name=misc
r kill web
r kill web
r start web
r stop web
r stop web
r rm -f
r start
r up -d other
r --profile extra up -d
r --profile extra ps --services
r ps --services
r down -v
r down
