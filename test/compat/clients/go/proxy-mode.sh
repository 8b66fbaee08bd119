#!/bin/sh
# Go in proxy mode for the compatibility suite (docs/PROXY.md): start egress-guard-proxy with the run's guard settings
# (policy, mode, log file: the environment the harness gives this guarded shell), wait until it listens, then run the
# static Go client ($0's first argument) with HTTP_PROXY/HTTPS_PROXY pointing at it; stop the proxy afterwards.
# Usage: proxy-mode.sh PROXY_BINARY GO_CLIENT step=url…
proxy=$1 client=$2
shift 2
port=$((20000 + $$ % 20000)) # runs in parallel in one namespace: one port each
EGRESS_GUARD_PROXY_LISTEN="127.0.0.1:$port" "$proxy" &
pid=$!
i=0
until grep -q "\"listen\":\"127.0.0.1:$port\"" "$EGRESS_GUARD_LOG" 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -gt 200 ]; then
    echo "proxy-mode.sh: the proxy did not start" >&2
    kill "$pid" 2>/dev/null
    exit 1
  fi
  sleep 0.05
done
HTTP_PROXY="http://127.0.0.1:$port" HTTPS_PROXY="http://127.0.0.1:$port" NO_PROXY=localhost,127.0.0.1 "$client" "$@"
rc=$?
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit "$rc"
