# shellcheck shell=bash
# bash compatibility client: the bash process itself connects, through its /dev/tcp and /dev/udp redirections
# (getaddrinfo, then connect in bash; no child process). Run as `bash bash-devtcp.sh step=url…`.
# http:// steps: open /dev/tcp/HOST/PORT, send an HTTP/1.0 GET, read the status line; udp:// steps: write the payload
# to /dev/udp/IP/PORT (a connected UDP socket).
# Contract (docs/COMPATIBILITY.md "Client protocol"): one line per step on stdout:
#   COMPAT<TAB>step<TAB>ok|error<TAB>what<TAB>detail
# `what` on failure is bash's own error text for the redirection (`Permission denied`, `Name or service not known`).
report() { printf 'COMPAT\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(tr '\t\r\n' '   ' <<<"$4" | cut -c1-300)"; }
errf=$(mktemp)
trap 'rm -f "$errf"' EXIT
# bash's error for a failed redirection: the first line's text after its last ": ".
what() { local first; first=$(head -n1 "$errf"); printf '%s' "${first##*: }"; }
for arg in "$@"; do
  step=${arg%%=*}
  url=${arg#*=}
  rest=${url#*://}
  hostport=${rest%%/*}
  path=/${rest#*/}
  host=${hostport%:*}
  port=${hostport##*:}
  if [[ $url == udp://* ]]; then
    if { printf '%s' "${path#/}" >"/dev/udp/$host/$port"; } 2>"$errf"; then
      report "$step" ok "sent $((${#path} - 1)) bytes" ""
    else
      report "$step" error "$(what)" "$(cat "$errf")"
    fi
    continue
  fi
  if { exec 3<>"/dev/tcp/$host/$port"; } 2>"$errf"; then
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
    IFS=' ' read -r -t 8 _ status _ <&3
    exec 3<&-
    report "$step" ok "HTTP $status" ""
  else
    report "$step" error "$(what)" "$(cat "$errf")"
  fi
done
exit 0
