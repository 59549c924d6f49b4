package kickstart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/providers"
)

// timeouts bound each connection of every server this package runs (Start,
// Serve, and so the container's ksserver): an idle keep-alive connection is
// closed after Idle, reading a request may take Read, writing its answer
// Write. Without them, idle connections stay open until the server runs
// out of file descriptors. Tests shorten them.
var timeouts = struct{ Idle, Read, Write time.Duration }{Idle: 30 * time.Second, Read: 10 * time.Second, Write: 30 * time.Second}

// newServer is the http.Server of h with the timeouts.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: timeouts.Read,
		ReadTimeout:       timeouts.Read,
		WriteTimeout:      timeouts.Write,
		IdleTimeout:       timeouts.Idle,
	}
}

// Start serves h in the background on every host in hosts, all on one
// port: the first listener picks a free port, the others take the same. It
// returns the port. stop shuts the server down gracefully; it is also shut down when
// ctx ends. Build targets use it for Packer's guests.
func Start(ctx context.Context, hosts []string, h http.Handler) (port int, stop func(), err error) {
	if len(hosts) == 0 {
		return 0, nil, errors.New("starting the kickstart server: no address to listen on")
	}
	var lns []net.Listener
	for _, host := range hosts {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return 0, nil, fmt.Errorf("starting the kickstart server on %q: %w", addr, err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		lns = append(lns, ln)
	}
	srv := newServer(h)
	var serving sync.WaitGroup
	for _, ln := range lns {
		serving.Add(1)
		go func() {
			defer serving.Done()
			srv.Serve(ln)
		}()
	}
	stopped := make(chan struct{})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			close(stopped)
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if srv.Shutdown(sctx) != nil {
				srv.Close()
			}
			serving.Wait()
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		case <-stopped:
		}
	}()
	return port, stop, nil
}

// Serve serves h on addr in the foreground, logging one line per request
// (status, path, duration) to log, until ctx ends; then it shuts down
// gracefully and returns nil. ready, if not nil, gets the address listened
// on. Listening beyond the loopback interface is said first (Exposure).
func Serve(ctx context.Context, addr string, h http.Handler, log io.Writer, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("starting the kickstart server on %q: %w", addr, err)
	}
	if note := Exposure(ln.Addr()); note != "" {
		fmt.Fprintln(log, note)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	srv := newServer(LogRequests(h, log))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving kickstarts on %q: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stopping the kickstart server: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Exposure says what listening on addr exposes when it is not a loopback
// address (KS_ADDR=:8080 binds every interface), and "" otherwise.
func Exposure(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() {
		return ""
	}
	where := "on " + tcp.IP.String() + ", beyond this host"
	if tcp.IP.IsUnspecified() {
		where = "on every interface"
	}
	return fmt.Sprintf("note: the kickstart server listens %s (%s): every machine that reaches it can fetch the kickstarts, which carry the root password's SHA-512 crypt hash (ks:serve listens on 127.0.0.1 unless KS_ADDR says otherwise)", where, addr)
}

// LogRequests wraps h to write one line per request to log:
// "<status> <path?query> <duration>". The query holds only build and os.
func LogRequests(h http.Handler, log io.Writer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		fmt.Fprintf(log, "%d %s %s %s\n", sw.status, r.Method, quoteCapped(r.URL.RequestURI()), time.Since(start).Round(time.Microsecond))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// GuestBaseURL is the kickstart base URL a guest of builder reaches the
// in-process server at: QEMU's and VirtualBox's user-mode NAT map 10.0.2.2
// to the host. For VMware it is "": the Packer template then uses
// {{ .HTTPIP }}, the host's address on the VM's network, with ks_port.
func GuestBaseURL(b providers.Builder, port int) string {
	switch b {
	case providers.QEMU, providers.VirtualBox:
		return fmt.Sprintf("http://10.0.2.2:%d", port)
	}
	return ""
}

// ListenHosts are the addresses the in-process server of a build listens
// on: loopback, where QEMU's and VirtualBox's NAT 10.0.2.2 arrives; with a
// VMware build also vmnet, the host's addresses on VMware's virtual
// networks (VMwareHostAddrs), so the kickstart, which holds the root
// password hash, is not offered to other networks. Without any, VMware's
// guest can only be reached on every interface: "0.0.0.0".
func ListenHosts(selected []providers.Provider, vmnet []string) []string {
	for _, p := range selected {
		if p.Builder != providers.VMware {
			continue
		}
		if len(vmnet) == 0 {
			return []string{"0.0.0.0"}
		}
		return append([]string{"127.0.0.1"}, vmnet...)
	}
	return []string{"127.0.0.1"}
}

// StartForBuild starts the in-process kickstart server of one build: it
// serves that build's OS only, with that build's root password hash.
// sent, when not nil, keeps the sha256 of each kickstart it sends.
func StartForBuild(ctx context.Context, cfg *config.Config, selected []providers.Provider, sent *Sent) (port int, stop func(), err error) {
	k, err := Load(cfg.Root, []Target{FromConfig(cfg)}, Options{})
	if err != nil {
		return 0, nil, err
	}
	h := k.Handler()
	if sent != nil {
		h = sent.Record(h)
	}
	return Start(ctx, ListenHosts(selected, VMwareHostAddrs()), h)
}
