package inspect

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"gold-standard-images/internal/run"
)

// session is one guestfish process, started read-only with -i (inspect
// and mount the guest), driven through its standard input: each batch of
// commands is written at once, each command followed by an echo of a
// marker, and its output read back up to its marker. So one appliance
// (about 45 s to start under TCG) answers every question, including those
// whose arguments come from earlier answers (the root device, the kernels
// found). A command prefixed with "-" does not end guestfish when it
// fails; its error goes to stderr (the tool log) and its answer is empty.
type session struct {
	in    io.WriteCloser
	out   *bufio.Reader
	nonce string
	n     int
	done  chan error // run.Run's result
}

// start runs guestfish on disk (read-only, in format) with cmd's bounds.
func start(ctx context.Context, disk, format string, cmd run.Cmd) (*session, error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	nonce := make([]byte, 6)
	rand.Read(nonce)
	cmd.Name = "guestfish"
	cmd.Args = []string{"--ro", "--format=" + format, "-a", disk, "-i"}
	cmd.Stdin = inR
	cmd.Stdout = outW
	s := &session{in: inW, out: bufio.NewReaderSize(outR, 1<<20), nonce: hex.EncodeToString(nonce), done: make(chan error, 1)}
	go func() {
		err := run.Run(ctx, cmd)
		inR.CloseWithError(errors.New("guestfish ended"))
		outW.CloseWithError(fmt.Errorf("guestfish ended before answering: %w", errorOr(err)))
		s.done <- err
	}()
	return s, nil
}

func errorOr(err error) error {
	if err == nil {
		return io.EOF
	}
	return err
}

// batch runs cmds and returns the output of each, in order.
func (s *session) batch(cmds []string) ([]string, error) {
	var script strings.Builder
	first := s.n
	for _, c := range cmds {
		fmt.Fprintf(&script, "-%s\necho %s\n", c, s.marker(s.n))
		s.n++
	}
	if _, err := io.WriteString(s.in, script.String()); err != nil {
		return nil, fmt.Errorf("sending commands to guestfish: %w", err)
	}
	outs := make([]string, 0, len(cmds))
	var cur strings.Builder
	for i := first; i < s.n; {
		line, err := s.out.ReadString('\n')
		if err != nil {
			return outs, err
		}
		m := s.marker(i) + "\n"
		if before, ok := strings.CutSuffix(line, m); ok {
			cur.WriteString(before)
			outs = append(outs, cur.String())
			cur.Reset()
			i++
			continue
		}
		cur.WriteString(line)
	}
	return outs, nil
}

func (s *session) marker(i int) string { return fmt.Sprintf("@@gsi-%s-%d@@", s.nonce, i) }

// close ends guestfish and returns its exit error.
func (s *session) close() error {
	s.in.Close()
	go io.Copy(io.Discard, s.out) // drain what is left
	return <-s.done
}

// quote is a guestfish string argument; paths with a double quote,
// backslash or newline are refused (no image of ours has them).
func quote(s string) (string, bool) {
	if strings.ContainsAny(s, "\"\\\n") {
		return "", false
	}
	return `"` + s + `"`, true
}
