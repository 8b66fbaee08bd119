// A Go client for the proxy-mode tests (test/proxy/): net/http and the AWS SDK for Go v2, both honouring
// HTTPS_PROXY/HTTP_PROXY the way Go programs do by default (http.ProxyFromEnvironment).
//
// Usage: proxyclient step=URL …   or, as a Lambda bootstrap (aws-lambda-go), with no arguments: each invoke's event
// {"steps": ["step=URL", …]} runs the same steps and returns the lines; an event without steps follows the runtime
// matrix's contract ({"urls": […], "probe": […]} → {"bytes": N}).
//
// URL forms: http(s)://… GET with the default client; post+http://…?size=N POST N bytes; direct+http://… GET with
// a transport whose Proxy is nil (it dials directly: the cooperative gap); s3put+http://host:port/bucket/key?size=N
// and s3get+http://host:port/bucket/key with the AWS SDK for Go v2 (path-style, static credentials); sleep+MS waits.
// One line per step on stdout: PROXY<TAB>step<TAB>ok|error<TAB>what<TAB>detail
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

type event struct {
	Steps []string `json:"steps"`
	// the runtime matrix's contract (test/runtimes/support/matrix.ts): GET every url (an error fails the invoke),
	// GET every probe ignoring errors, answer {"bytes": N}
	Urls  []string `json:"urls"`
	Probe []string `json:"probe"`
}

func matrix(ctx context.Context, ev event) (map[string]int64, error) {
	var total int64
	for _, u := range ev.Urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: HTTP %d", u, res.StatusCode)
		}
		total += n
	}
	for _, u := range ev.Probe {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
		}
	}
	return map[string]int64{"bytes": total}, nil
}

func errorChain(err error) string {
	var parts []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		parts = append(parts, fmt.Sprintf("%T", e))
	}
	return strings.Join(parts, ">")
}

func oneLine(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

func s3client(u *url.URL) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + u.Host),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPROXYTEST", "secret", ""),
		// the SDK's default HTTP client honours HTTPS_PROXY/HTTP_PROXY like net/http's
	})
}

func size(u *url.URL) int {
	n, _ := strconv.Atoi(u.Query().Get("size"))
	return n
}

func run(step, raw string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kind, rest, found := strings.Cut(raw, "+")
	if !found {
		kind, rest = "get", raw
	}
	u, err := url.Parse(rest)
	if err != nil {
		return "", "", err
	}
	switch kind {
	case "sleep": // sleep+MS: wait, then report
		ms, err := strconv.Atoi(rest)
		if err != nil {
			return "", "", err
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return "slept", "", nil
	case "s3put":
		parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 2)
		_, err := s3client(u).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(parts[0]), Key: aws.String(parts[1]),
			Body: bytes.NewReader(bytes.Repeat([]byte("p"), size(u)))})
		if err != nil {
			return "", "", err
		}
		return "PutObject ok", "", nil
	case "s3get":
		parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 2)
		out, err := s3client(u).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(parts[0]), Key: aws.String(parts[1])})
		if err != nil {
			return "", "", err
		}
		defer out.Body.Close()
		n, err := io.Copy(io.Discard, out.Body)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("GetObject %d bytes", n), "", nil
	}
	client := http.DefaultClient
	method := http.MethodGet
	var body io.Reader
	switch kind {
	case "direct":
		client = &http.Client{Transport: &http.Transport{Proxy: nil}}
	case "post":
		method, body = http.MethodPost, bytes.NewReader(bytes.Repeat([]byte("u"), size(u)))
	case "get":
	default:
		return "", "", fmt.Errorf("unknown step kind %q", kind)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return "", "", err
	}
	res, err := client.Do(req)
	if err != nil {
		return "", "", err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		return "", "", err
	}
	return fmt.Sprintf("HTTP %d", res.StatusCode), fmt.Sprintf("%d bytes", n), nil
}

func steps(args []string) []string {
	var lines []string
	for _, a := range args {
		step, raw, _ := strings.Cut(a, "=")
		what, detail, err := run(step, raw)
		if err != nil {
			lines = append(lines, fmt.Sprintf("PROXY\t%s\terror\t%s\t%s", step, errorChain(err), oneLine(err.Error())))
		} else {
			lines = append(lines, fmt.Sprintf("PROXY\t%s\tok\t%s\t%s", step, what, detail))
		}
	}
	return lines
}

func main() {
	if len(os.Args) == 1 && os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		lambda.Start(func(ctx context.Context, ev event) (any, error) {
			if len(ev.Steps) == 0 {
				return matrix(ctx, ev)
			}
			return steps(ev.Steps), nil
		})
		return
	}
	for _, l := range steps(os.Args[1:]) {
		fmt.Println(l)
	}
}
