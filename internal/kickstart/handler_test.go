package kickstart

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"gold-standard-images/internal/run/runtest"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/providers"
)

func TestHandlerAnswersEveryRequestSafely(t *testing.T) {
	srv := httptest.NewServer(loadShipped(t).Handler())
	defer srv.Close()
	cases := []struct {
		name, method, target string
		status               int
		body                 string
	}{
		{"virtual build", "GET", "/ks?build=virtual/aws&os=CentOS-7.9.2009", 200, "url --url=https://vault.centos.org/7.9.2009/os/x86_64"},
		{"the PHP path of old PXE lines", "GET", "/ks.php?build=metal/example&os=CentOS-7.6.1810", 200, "volgroup web01_rootvg --pesize=32768 pv.01"},
		{"parameters in any order", "GET", "/ks?os=RedHat-7.9&build=virtual/gcp", 200, "cdrom"},
		{"HEAD", "HEAD", "/ks?build=virtual/aws&os=CentOS-7.9.2009", 200, ""},
		{"unknown virtual build", "GET", "/ks?build=virtual/digitalocean&os=CentOS-7.9.2009", 404, `no build definition "virtual/digitalocean"`},
		{"unknown metal host never falls back", "GET", "/ks?build=metal/db99&os=CentOS-7.9.2009", 404, `no metal host "metal/db99"`},
		{"defaults are not a build", "GET", "/ks?build=metal/defaults&os=CentOS-7.9.2009", 400, "defaults are layers"},
		{"unknown OS", "GET", "/ks?build=virtual/aws&os=Ubuntu-22.04", 400, `unknown OS "Ubuntu-22.04"`},
		{"missing os", "GET", "/ks?build=virtual/aws", 400, `missing parameter "os"`},
		{"missing build", "GET", "/ks?os=CentOS-7.9.2009", 400, `missing parameter "build"`},
		{"repeated build", "GET", "/ks?build=virtual/aws&build=virtual/gcp&os=CentOS-7.9.2009", 400, `"build" given 2 times`},
		{"unknown parameter", "GET", "/ks?build=virtual/aws&os=CentOS-7.9.2009&file=/etc/passwd", 400, `unknown parameter "file"`},
		{"unknown build type", "GET", "/ks?build=cloud/aws&os=CentOS-7.9.2009", 400, "want virtual/<name> or metal/<host>"},
		{"traversal", "GET", "/ks?build=virtual/../../keys/packer&os=CentOS-7.9.2009", 400, "bad request"},
		{"encoded traversal", "GET", "/ks?build=virtual%2F..%2F..%2Fkeys%2Fpacker&os=CentOS-7.9.2009", 400, "bad request"},
		{"encoded dots", "GET", "/ks?build=virtual/%2e%2e&os=CentOS-7.9.2009", 400, "bad request"},
		{"doubly encoded", "GET", "/ks?build=virtual/%252e%252e%252fkeys&os=CentOS-7.9.2009", 400, "bad request"},
		{"absolute path", "GET", "/ks?build=/etc/passwd&os=CentOS-7.9.2009", 400, "bad request"},
		{"absolute path in os", "GET", "/ks?build=virtual/aws&os=/etc/passwd", 400, "bad request"},
		{"traversal in os", "GET", "/ks?build=virtual/aws&os=../site", 400, "bad request"},
		{"NUL", "GET", "/ks?build=virtual/aws%00&os=CentOS-7.9.2009", 400, "bad request"},
		{"newline", "GET", "/ks?build=virtual/aws%0Arootpw&os=CentOS-7.9.2009", 400, "bad request"},
		{"malformed escape", "GET", "/ks?build=virtual/aws%zz&os=CentOS-7.9.2009", 400, "malformed query"},
		{"semicolon", "GET", "/ks?build=virtual/aws;os=x&os=CentOS-7.9.2009", 400, "bad request"},
		{"backslash", "GET", `/ks?build=virtual\..\x&os=CentOS-7.9.2009`, 400, "bad request"},
		{"other path", "GET", "/keys/packer", 404, "not found"},
		{"encoded path", "GET", "/k%73?build=virtual/aws&os=CentOS-7.9.2009", 404, "not found"},
		{"static file path", "GET", "/http/builds/defaults", 404, "not found"},
		{"POST", "POST", "/ks?build=virtual/aws&os=CentOS-7.9.2009", 405, "use GET"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, srv.URL+c.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d; body: %s", resp.StatusCode, c.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
			if !strings.Contains(string(body), c.body) {
				t.Errorf("body lacks %q:\n%s", c.body, body)
			}
			if c.status != 200 && strings.Contains(string(body), "rootpw --iscrypted") {
				t.Errorf("an error response holds kickstart content:\n%s", body)
			}
			assertNoSecrets(t, body)
		})
	}
}

// assertNoSecrets fails when a response holds the plain root password, a
// private key or settings other than those a kickstart needs.
func assertNoSecrets(t *testing.T, body []byte) {
	t.Helper()
	for _, secret := range []string{testPassword, "PRIVATE KEY", "root_pass", "root_salt", "registry", "import_role"} {
		if bytes.Contains(body, []byte(secret)) {
			t.Errorf("response holds %q:\n%s", secret, body)
		}
	}
}

func TestEveryServedKickstartHoldsNoSecretsFromARealSiteFile(t *testing.T) {
	root := copyTree(t)
	writeFile(t, root, "templates/site.json", `{"root_pass": "`+testPassword+`", "root_salt": "abcdefgh", "registry": "registry.example.com/gold", "timezone": "Europe/Berlin"}`)
	if err := chmod600(root + "/templates/site.json"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "keys/packer", "-----BEGIN OPENSSH PRIVATE KEY-----\nprivate\n-----END OPENSSH PRIVATE KEY-----\n")
	k, _, err := LoadAll(root, func(string) string { return "" }, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := k.Handler()
	for _, b := range k.Builds() {
		for _, o := range k.OSNames() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/ks?build="+b+"&os="+o, nil))
			if rec.Code != 200 {
				t.Fatalf("%s %s: status %d: %s", b, o, rec.Code, rec.Body)
			}
			if !regexp.MustCompile(`(?m)^timezone Europe/Berlin --(isUtc|utc)\b`).MatchString(rec.Body.String()) || !strings.Contains(rec.Body.String(), "rootpw --iscrypted $6$abcdefgh$") {
				t.Errorf("%s %s: the site's timezone or password hash is missing:\n%s", b, o, rec.Body)
			}
			assertNoSecrets(t, rec.Body.Bytes())
		}
	}
}

func TestBootLineUsesTheHostTheClientNamedOrAPlaceholder(t *testing.T) {
	h := loadShipped(t).Handler()
	for _, tc := range []struct {
		host, proto, prefix string
		tls                 bool
		want                string
	}{
		{"ks.example.com:8080", "", "", false, "inst.ks=http://ks.example.com:8080/ks?build=metal/example&os=CentOS-7.9.2009 bootdev=eth0 ip=192.0.2.10"},
		{"evil\"host rootpw --x", "", "", false, "inst.ks=http://<kickstart-server>/ks?build=metal/example"},
		// Behind a proxy, as the original's PHP server honoured it.
		{"ks.example.com", "https", "/gsi/", false, "inst.ks=https://ks.example.com/gsi/ks?build=metal/example&os=CentOS-7.9.2009 bootdev=eth0"},
		{"ks.example.com", "", "/a/../b", false, "inst.ks=http://ks.example.com/ks?build=metal/example"},
		{"ks.example.com", "", "/x rootpw --plaintext", false, "inst.ks=http://ks.example.com/ks?build=metal/example"},
		{"ks.example.com:8443", "", "", true, "inst.ks=https://ks.example.com:8443/ks?build=metal/example"},
		// Asked at the original's /ks.php, the boot line names it too.
		{"ks.example.com", "", "/gsi", false, "inst.ks=http://ks.example.com/gsi/ks.php?build=metal/example&os=CentOS-7.9.2009 bootdev=eth0"},
	} {
		path := "/ks"
		if strings.Contains(tc.want, "/ks.php") {
			path = "/ks.php"
		}
		req := httptest.NewRequest("GET", path+"?build=metal/example&os=CentOS-7.9.2009", nil)
		req.Host = tc.host
		if tc.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if tc.prefix != "" {
			req.Header.Set("X-Forwarded-Prefix", tc.prefix)
		}
		if tc.tls {
			req.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), "# Boot line: "+tc.want) {
			t.Errorf("Host %q, proto %q, prefix %q: boot line lacks %q:\n%s", tc.host, tc.proto, tc.prefix, tc.want, rec.Body)
		}
	}
}

func TestGuestBaseURLPerBuilder(t *testing.T) {
	cases := map[providers.Builder]string{
		providers.QEMU:       "http://10.0.2.2:8123",
		providers.VirtualBox: "http://10.0.2.2:8123",
		providers.VMware:     "", // the template's {{ .HTTPIP }}
	}
	for b, want := range cases {
		if got := GuestBaseURL(b, 8123); got != want {
			t.Errorf("GuestBaseURL(%s) = %q, want %q", b, got, want)
		}
	}
	vmware, _ := providers.Lookup("vmware")
	aws, _ := providers.Lookup("aws")
	gcp, _ := providers.Lookup("gcp")
	for _, tc := range []struct {
		selected []providers.Provider
		vmnet    []string
		want     []string
	}{
		{[]providers.Provider{aws, gcp}, []string{"172.16.5.1"}, []string{"127.0.0.1"}},
		{[]providers.Provider{gcp, vmware}, []string{"172.16.5.1", "192.168.44.1"}, []string{"127.0.0.1", "172.16.5.1", "192.168.44.1"}},
		{[]providers.Provider{vmware}, nil, []string{"0.0.0.0"}},
	} {
		if got := ListenHosts(tc.selected, tc.vmnet); !slices.Equal(got, tc.want) {
			t.Errorf("ListenHosts(%v, %v) = %v, want %v", providers.Names(tc.selected), tc.vmnet, got, tc.want)
		}
	}
}

// TestStartListensOnEveryHostOnOnePort: loopback has all of 127.0.0.0/8,
// so two of its addresses stand for loopback and a vmnet address.
func TestStartListensOnEveryHostOnOnePort(t *testing.T) {
	port, stop, err := Start(t.Context(), []string{"127.0.0.1", "127.0.0.2"}, loadShipped(t).Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		resp, err := http.Get("http://" + host + ":" + itoa(port) + "/ks?build=virtual/vmware&os=CentOS-7.9.2009")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", host, resp.StatusCode)
		}
	}
	if _, err := http.Get("http://127.0.0.3:" + itoa(port) + "/ks"); err == nil {
		t.Error("an address not asked for answers")
	}
}

func TestStartServesUntilStopped(t *testing.T) {
	port, stop, err := Start(t.Context(), []string{"127.0.0.1"}, loadShipped(t).Handler())
	if err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:" + itoa(port) + "/ks?build=virtual/vmware&os=CentOS-7.9.2009"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	stop()
	stop() // twice is harmless
	if _, err := http.Get(url); err == nil {
		t.Error("the server still answers after stop")
	}
}

func TestServeLogsOneLinePerRequestAndStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var log runtest.Buffer
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- Serve(ctx, "127.0.0.1:0", loadShipped(t).Handler(), &log, func(a string) { addrc <- a })
	}()
	addr := <-addrc
	for _, q := range []string{"build=virtual/aws&os=CentOS-7.9.2009", "build=metal/nohost&os=CentOS-7.9.2009"} {
		resp, err := http.Get("http://" + addr + "/ks?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `200 GET "/ks?build=virtual/aws&os=CentOS-7.9.2009" `) || !strings.HasPrefix(lines[1], `404 GET "/ks?build=metal/nohost`) {
		t.Errorf("log lines:\n%s", log.String())
	}
}

// servers runs the shipped kickstarts on each kind of server this package
// runs: Start's (builds) and Serve's (ks:serve and the container's
// ksserver). Each returns the address and where Serve logs.
func servers(t *testing.T) map[string]func() (addr string, log *runtest.Buffer) {
	return map[string]func() (string, *runtest.Buffer){
		"Start": func() (string, *runtest.Buffer) {
			port, stop, err := Start(t.Context(), []string{"127.0.0.1"}, loadShipped(t).Handler())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(stop)
			return "127.0.0.1:" + itoa(port), nil
		},
		"Serve": func() (string, *runtest.Buffer) {
			ctx, cancel := context.WithCancel(t.Context())
			log := &runtest.Buffer{}
			addrc := make(chan string, 1)
			errc := make(chan error, 1)
			go func() {
				errc <- Serve(ctx, "127.0.0.1:0", loadShipped(t).Handler(), log, func(a string) { addrc <- a })
			}()
			t.Cleanup(func() { cancel(); <-errc })
			return <-addrc, log
		},
	}
}

// TestIdleConnectionsAreClosed: a client that keeps connections open
// after its request (or never sends one) cannot starve the server of file
// descriptors: each is closed after the idle (or read) timeout.
func TestIdleConnectionsAreClosed(t *testing.T) {
	saved := timeouts
	timeouts.Idle, timeouts.Read = 200*time.Millisecond, 200*time.Millisecond
	t.Cleanup(func() { timeouts = saved })
	for name, start := range servers(t) {
		t.Run(name, func(t *testing.T) {
			addr, _ := start()
			var conns []net.Conn
			for i := 0; i < 20; i++ {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				conns = append(conns, c)
				if i%2 == 1 {
					continue // sends nothing at all
				}
				fmt.Fprintf(c, "GET /ks?build=virtual/aws&os=CentOS-7.9.2009 HTTP/1.1\r\nHost: ks\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.Close {
					t.Fatalf("status %d, close %v: want a kept-alive 200", resp.StatusCode, resp.Close)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for i, c := range conns {
				c.SetReadDeadline(deadline)
				if n, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
					t.Errorf("connection %d: read %d bytes, %v; want the server to close it (EOF)", i, n, err)
				}
			}
		})
	}
}

// TestABadParameterGetsAShortAnswer: a 100 kB parameter is quoted in part
// in the 400's body and the log line, marked as cut.
func TestABadParameterGetsAShortAnswer(t *testing.T) {
	addr, log := servers(t)["Serve"]()
	huge := strings.Repeat("a", 100_000)
	resp, err := http.Get("http://" + addr + "/ks?os=CentOS-7.9.2009&build=virtual/" + huge)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || len(body) > 400 || !strings.Contains(string(body), `aaa"... (100008 bytes)`) {
		t.Errorf("status %d, %d bytes: want a 400 of a few hundred bytes quoting the value in part:\n%.500s", resp.StatusCode, len(body), body)
	}
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if len(line) > 300 || !strings.Contains(line, `"... (`) {
			t.Errorf("log line of %d bytes, want a short one marked as cut:\n%.500s", len(line), line)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"short", `"short"`},
		{strings.Repeat("é", 60), `"` + strings.Repeat("é", 50) + `"... (120 bytes)`},
	} {
		if got := quoteCapped(tc.in); got != tc.want {
			t.Errorf("quoteCapped(%.20q...) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"build=virtual/aws&os=CentOS-7.9.2009", "build=metal/../x&os=a", "build=virtual/%2e%2e&os=a", "os=%00&build=virtual/a", "build=virtual/a;b&os=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := ParseQuery(raw)
		if err != nil {
			return
		}
		for _, v := range []string{r.Build, r.OS} {
			if strings.Contains(v, "..") || strings.ContainsAny(v, "\x00\\%\r\n\t ;&?#\"'") || strings.HasPrefix(v, "/") || v == "" {
				t.Fatalf("ParseQuery(%q) accepted %q", raw, v)
			}
		}
		if !strings.HasPrefix(r.Build, "virtual/") && !strings.HasPrefix(r.Build, "metal/") || strings.Count(r.Build, "/") != 1 {
			t.Fatalf("ParseQuery(%q) accepted build %q", raw, r.Build)
		}
		if strings.Contains(r.OS, "/") {
			t.Fatalf("ParseQuery(%q) accepted os %q", raw, r.OS)
		}
	})
}

func TestStartForBuildServesThatBuildsOSWithItsOwnPasswordHash(t *testing.T) {
	root := copyTree(t)
	cfg, err := config.Load(root, "CentOS-7.9.2009", func(string) string { return "" }, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sent Sent
	port, stop, err := StartForBuild(t.Context(), cfg, providers.All[:1], &sent)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(q string) (int, string) {
		resp, err := http.Get("http://127.0.0.1:" + itoa(port) + "/ks?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("build=virtual/aws&os=CentOS-7.9.2009")
	if code != 200 || !strings.Contains(body, "rootpw --iscrypted "+cfg.RootPasswordHash()+"\n") {
		t.Errorf("status %d; the build's random password hash %q is not served:\n%s", code, cfg.RootPasswordHash(), body)
	}
	if code, _ := get("build=virtual/aws&os=CentOS-7.6.1810"); code != 400 {
		t.Errorf("another OS: status %d, want 400", code)
	}
	sum := sha256.Sum256([]byte(body))
	if got, want := sent.SHA256("virtual/aws"), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("recorded kickstart sha256 %q, want %q (the body received; the refused request must not replace it)", got, want)
	}
	if got := sent.SHA256("virtual/gcp"); got != "" {
		t.Errorf("a build never served has sha256 %q, want none", got)
	}
}

func TestServeSaysWhenItListensBeyondThisHost(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want string // in the first log line; "" says nothing
	}{
		{"127.0.0.1:0", ""},
		{":0", "listens on every interface"},
		{"0.0.0.0:0", "listens on every interface"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			var log runtest.Buffer
			errc := make(chan error, 1)
			ready := make(chan struct{})
			go func() { errc <- Serve(ctx, tc.addr, loadShipped(t).Handler(), &log, func(string) { close(ready) }) }()
			<-ready
			cancel()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			said := log.String()
			t.Logf("said: %q", said)
			if tc.want == "" && said != "" || tc.want != "" && (!strings.Contains(said, tc.want) || !strings.Contains(said, "root password")) {
				t.Errorf("said %q, want %q and the root password's hash named", said, tc.want)
			}
		})
	}
}
