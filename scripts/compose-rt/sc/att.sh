cat > compose.yaml <<'Y'
services:
  a:
    image: localbusybox
    init: true
    command: ["sh", "-c", "echo a-out; echo a-err >&2; sleep 0.5; exit 3"]
  b:
    image: localbusybox
    init: true
    command: ["sh", "-c", "echo b-out; sleep 0.2; exit 0"]
  c:
    image: localbusybox
    init: true
    command: ["sh", "-c", "echo c-out; exec sleep 100"]
Y
rs up a b
rs up --abort-on-container-exit
rs up --exit-code-from a
rs up --exit-code-from b a b
rs up --exit-code-from nope
r up --no-log-prefix b
r up --no-deps --foo
r nosuch
r ps --format '{{.Nope}}'
r ps --filter foo=bar
r ps --status bogus
r logs -t b
r stop nope
r start nope
r restart nope
r kill nope
r rm -f nope
r pause nope
r down -t 0
