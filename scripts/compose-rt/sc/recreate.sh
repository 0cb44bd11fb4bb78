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
    depends_on: [a]
  c:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
Y
r up -d
r up -d
sed -i 's/"1000"\]$/"1001"]/' compose.yaml
sed -i '0,/"1001"/s//"1000"/' compose.yaml
cat compose.yaml | grep 100
r up -d
r up -d --force-recreate c
r up -d --no-recreate
r stop c
r up -d
r create
r scale c=2
r ps --services
r up -d --scale c=1
cat > compose.yaml <<'Y'
services:
  a:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
Y
r up -d
r ps -a
r down
r ps -a --format '{{.Name}}'
r down --remove-orphans -t 0
r ls -a
r ls --format json
