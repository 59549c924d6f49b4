// Package envvar is the table of the environment variables the project
// reads: one row per variable with its one-line doc and its parser. Packages
// read the environment only through these rows, with a getenv function the
// targets pass in (os.Getenv, or a map in tests); an empty value is unset.
// A bad value is an error naming the variable and the value:
//
//	reading environment variable FORCE="maybe": want 1 or 0
//
// The README's environment table is made from All (go test
// ./internal/envvar -update rewrites it).
package envvar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Var is what every row has: the name, what it does, and (text rows) what
// it takes.
type Var struct {
	Name string
	Doc  string // one line: what it does, and its default
	// Value is what a Text or External row takes, for the README; the other
	// kinds say it themselves (Takes).
	Value string
}

// Variable returns the row's Var.
func (v Var) Variable() Var { return v }

// invalid is the error for a value the row's parser refuses.
func (v Var) invalid(value, want string) error {
	return fmt.Errorf("reading environment variable %s=%q: want %s", v.Name, value, want)
}

// Row is one row of the table, whatever its kind.
type Row interface {
	Variable() Var
	Takes() string // what it takes, as the README and errors say it
}

// Text is a variable taken as it is: a name, path, URL or list that the
// package reading it checks.
type Text struct{ Var }

// Takes is the row's Value.
func (v Text) Takes() string { return v.Value }

// Get is the value, empty when unset.
func (v Text) Get(getenv func(string) string) string { return getenv(v.Name) }

// Or is the value, or def when unset.
func (v Text) Or(getenv func(string) string, def string) string {
	if s := getenv(v.Name); s != "" {
		return s
	}
	return def
}

// Words is a variable split on spaces, never by a shell (extra flags).
type Words struct{ Var }

// Takes says how the value is split.
func (Words) Takes() string { return "words split on spaces" }

// Get is the value's words, none when unset.
func (v Words) Get(getenv func(string) string) []string { return strings.Fields(getenv(v.Name)) }

// Bool is a switch: 1, t or true (any case) turn it on; 0, f or false off.
type Bool struct{ Var }

// Takes is "1 or 0".
func (Bool) Takes() string { return "1 or 0" }

// Or is the switch, or def when unset.
func (v Bool) Or(getenv func(string) string, def bool) (bool, error) {
	s := getenv(v.Name)
	switch strings.ToLower(s) {
	case "":
		return def, nil
	case "1", "t", "true":
		return true, nil
	case "0", "f", "false":
		return false, nil
	}
	return false, v.invalid(s, v.Takes())
}

// Duration is a positive Go duration such as 90m.
type Duration struct{ Var }

// Takes names the format.
func (Duration) Takes() string { return "a Go duration such as 90m" }

// Or is the duration, or def when unset.
func (v Duration) Or(getenv func(string) string, def time.Duration) (time.Duration, error) {
	s := getenv(v.Name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, v.invalid(s, v.Takes())
	}
	return d, nil
}

// Number is a whole number.
type Number struct{ Var }

// Takes is "a whole number".
func (Number) Takes() string { return "a whole number" }

// Or is the number, or def when unset.
func (v Number) Or(getenv func(string) string, def int) (int, error) {
	s := getenv(v.Name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, v.invalid(s, v.Takes())
	}
	return n, nil
}

// Choice is one of a few words.
type Choice struct {
	Var
	Values []string
}

// Takes lists the values: "kvm or tcg".
func (v Choice) Takes() string {
	if len(v.Values) < 2 {
		return strings.Join(v.Values, "")
	}
	return strings.Join(v.Values[:len(v.Values)-1], ", ") + " or " + v.Values[len(v.Values)-1]
}

// Get is the value, empty when unset.
func (v Choice) Get(getenv func(string) string) (string, error) {
	s := getenv(v.Name)
	if s == "" {
		return "", nil
	}
	for _, c := range v.Values {
		if s == c {
			return s, nil
		}
	}
	return "", v.invalid(s, v.Takes())
}

// External is a variable only another program reads (the AWS SDK, the
// registry client): the table holds it so the targets' help and the README
// can name it.
type External struct{ Var }

// Takes is the row's Value.
func (v External) Takes() string { return v.Value }
