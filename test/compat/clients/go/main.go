// Go compatibility client, built twice by the suite (test/compat/support/build.ts):
//   - cgo:    CGO_ENABLED=1 go build -tags netcgo   → dynamically linked; names resolved by libc getaddrinfo
//   - static: CGO_ENABLED=0 go build                 → statically linked; Go's own resolver and raw syscalls
//
// Contract (the same for every client of every runtime, see docs/COMPATIBILITY.md "Client protocol"): the arguments
// are `step=url` pairs; for each, in order, print exactly one line on stdout:
//
//	COMPAT<TAB>step<TAB>ok|error<TAB>what<TAB>detail
//
// http:// steps use net/http; udp://ip:port/payload sends one datagram with WriteTo on an unconnected socket.
// `what` is the error chain the program sees (`*url.Error > *net.OpError > *os.SyscallError > syscall.Errno[EACCES]`).
// Exit code 0 once every step is reported.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

const stepTimeout = 8 * time.Second

var errnoNames = map[syscall.Errno]string{
	syscall.EACCES: "EACCES", syscall.EPERM: "EPERM", syscall.ECONNREFUSED: "ECONNREFUSED",
	syscall.ENETUNREACH: "ENETUNREACH", syscall.ETIMEDOUT: "ETIMEDOUT", syscall.EHOSTUNREACH: "EHOSTUNREACH",
}

func clean(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

func report(step string, ok bool, what, detail string) {
	status := "error"
	if ok {
		status = "ok"
	}
	fmt.Printf("COMPAT\t%s\t%s\t%s\t%s\n", step, status, clean(what), clean(detail))
}

// identity is the chain of error types the program sees, the errno or DNS verdict at the root.
func identity(err error) string {
	var parts []string
	for e := err; e != nil && len(parts) < 6; e = errors.Unwrap(e) {
		name := fmt.Sprintf("%T", e)
		if st, ok := e.(httpStatus); ok {
			name = st.Error()
		}
		var errno syscall.Errno
		var dns *net.DNSError
		if errors.As(e, &errno) && fmt.Sprintf("%T", e) == "syscall.Errno" {
			if n, ok := errnoNames[errno]; ok {
				name += "[" + n + "]"
			} else {
				name += fmt.Sprintf("[%d]", int(errno))
			}
		} else if errors.As(e, &dns) && name == "*net.DNSError" {
			name += "[" + dns.Err + "]"
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, " > ")
}

// httpStatus is a refusal answered in HTTP (the egress proxy's 403): the program sees a status, not a socket error.
type httpStatus int

func (s httpStatus) Error() string { return fmt.Sprintf("HTTP %d", int(s)) }

// httpGet honours HTTPS_PROXY/HTTP_PROXY like Go's default client (unset in every scenario but proxy mode's).
func httpGet(u string) (string, error) {
	client := &http.Client{Timeout: stepTimeout,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: http.ProxyFromEnvironment}}
	res, err := client.Get(u)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if _, err := io.ReadAll(res.Body); err != nil {
		return "", err
	}
	if res.StatusCode >= 400 {
		return "", httpStatus(res.StatusCode)
	}
	return fmt.Sprintf("HTTP %d", res.StatusCode), nil
}

func udpSend(u *url.URL) (string, error) {
	pc, err := net.ListenPacket("udp", ":0")
	if err != nil {
		return "", err
	}
	defer pc.Close()
	addr, err := net.ResolveUDPAddr("udp", u.Host)
	if err != nil {
		return "", err
	}
	n, err := pc.WriteTo([]byte(strings.TrimPrefix(u.Path, "/")), addr)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("sent %d bytes", n), nil
}

func main() {
	for _, arg := range os.Args[1:] {
		step, raw, _ := strings.Cut(arg, "=")
		u, err := url.Parse(raw)
		var what string
		if err == nil {
			if u.Scheme == "udp" {
				what, err = udpSend(u)
			} else {
				what, err = httpGet(raw)
			}
		}
		if err != nil {
			report(step, false, identity(err), err.Error())
		} else {
			report(step, true, what, "")
		}
	}
	os.Exit(0)
}
