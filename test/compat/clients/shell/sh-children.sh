# shellcheck shell=sh
# POSIX sh (dash) compatibility client, run as `sh -c "$(cat sh-children.sh)" sh step=url…`: the shell does no
# networking itself; every step is done by a child process, which inherits the guard through LD_PRELOAD:
#   http:// steps whose name must resolve first: `getent hosts NAME` (gethostbyname2), then `curl` for the fetch;
#   http:// steps to an IP literal: `curl`;  udp:// steps: a `bash` grandchild writing to /dev/udp/IP/PORT.
# Contract (docs/COMPATIBILITY.md "Client protocol"): one line per step on stdout:
#   COMPAT<TAB>step<TAB>ok|error<TAB>what<TAB>detail
# `what` names the child that failed and its exit code (`getent exit 2`, `curl exit 7`, `bash exit 1`).
tab=$(printf '\t')
report() { printf 'COMPAT%s%s%s%s%s%s%s%s\n' "$tab" "$1" "$tab" "$2" "$tab" "$3" "$tab" "$(printf '%s' "$4" | tr '\t\r\n' '   ' | cut -c1-300)"; }
for arg in "$@"; do
  step=${arg%%=*}
  url=${arg#*=}
  rest=${url#*://}
  hostport=${rest%%/*}
  path=/${rest#*/}
  host=${hostport%:*}
  port=${hostport##*:}
  case $url in
    udp://*)
      err=$(bash -c 'printf "%s" "$3" >"/dev/udp/$1/$2"' bash "$host" "$port" "${path#/}" 2>&1)
      rc=$?
      if [ $rc -eq 0 ]; then report "$step" ok "sent ${#path} bytes" ""; else report "$step" error "bash exit $rc" "$err"; fi
      continue ;;
  esac
  case $host in
    *[!0-9.]*)
      err=$(getent hosts "$host" 2>&1)
      rc=$?
      if [ $rc -ne 0 ]; then report "$step" error "getent exit $rc" "$err"; continue; fi ;;
  esac
  out=$(curl -sS --max-time 8 -o /dev/null -w '%{http_code}' "$url" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then report "$step" ok "HTTP $out" ""; else report "$step" error "curl exit $rc" "$out"; fi
done
exit 0
