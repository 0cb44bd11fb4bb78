cat > compose.yaml <<'Y'
services:
  db:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    environment: {V: "1"}
  app:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    depends_on: [db]
  app2:
    image: localbusybox
    init: true
    command: ["sleep", "1000"]
    depends_on:
      db: {condition: service_started, restart: true}
Y
r up -d
sed -i 's/V: "1"/V: "2"/' compose.yaml
r up -d
sed -i 's/V: "2"/V: "3"/' compose.yaml
r up -d app
r up -d --no-deps db
sed -i 's/V: "3"/V: "4"/' compose.yaml
r restart db
r up -d --force-recreate --no-deps app
r up -d --always-recreate-deps app2
r ps --format "'{{.Service}} {{.State}}'"
r down -t 0
