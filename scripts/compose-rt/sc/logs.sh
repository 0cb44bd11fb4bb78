cat > compose.yaml <<'Y'
services:
  a:
    image: localbusybox
    init: true
    command: ["sh", "-c", "echo a1; echo a2; echo a3 >&2; exec sleep 1000"]
  b:
    image: localbusybox
    init: true
    command: ["sh", "-c", "echo b1; echo b2"]
Y
r up -d
sleep 1
rs logs
r logs a
r logs --tail 2 a
r logs --tail 0 a
r logs --no-log-prefix b
r logs --no-color b
r logs -t --no-log-prefix b
r restart a
sleep 1
r logs a
r logs --index 1 b
r logs --index 2 b
r logs a b nope
r stop
r logs --tail=1 b
