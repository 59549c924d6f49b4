package redact

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestURLRedactsPasswordsAndSecretParametersOnly(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://user:pa55@mirror.example/x.iso", "https://REDACTED@mirror.example/x.iso"},
		{"https://ghp_token@github.com/x", "https://REDACTED@github.com/x"},
		{"https://cdn.example/x.iso?_auth_=abc123&mirror=2&user=me", "https://cdn.example/x.iso?_auth_=REDACTED&mirror=2&user=REDACTED"},
		{"https://s3.example/b/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=ff&X-Amz-Expires=60", "https://s3.example/b/k?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Expires=60"},
		{"https://acct.blob.core.windows.net/c?sv=2020&sig=abc%3D", "https://acct.blob.core.windows.net/c?sv=2020&sig=REDACTED"},
		{"http://u:p%40ss@127.0.0.1:8080/a b", "http://REDACTED@127.0.0.1:8080/a%20b"},
		{"https://mirror.example/7.9/os/x86_64/", "https://mirror.example/7.9/os/x86_64/"},
		{"/srv/isos/rhel.iso", "/srv/isos/rhel.iso"},
		{"user@host", "user@host"},
		{"http://u:p@[::1:bad/x", "http://REDACTED@[::1:bad/x"},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTextRedactsEveryURLInAMessageAndErrorKeepsTheCause(t *testing.T) {
	cause := fs.ErrNotExist
	err := errors.Join(errors.New(`downloading "http://b:secret1@m.example/x.iso?token=secret2": Get "http://b:***@m.example/x.iso?token=secret2": 503`), cause)
	got := Error(err)
	if strings.Contains(got.Error(), "secret1") || strings.Contains(got.Error(), "secret2") {
		t.Errorf("Error(%q) = %q: a secret is left", err, got)
	}
	if !strings.Contains(got.Error(), "m.example/x.iso") || !errors.Is(got, cause) {
		t.Errorf("Error(%q) = %q: lost the place or the cause", err, got)
	}
	if Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
}

func TestJSONRedactsURLsAndSecretKeys(t *testing.T) {
	v := map[string]any{"root_pass": "hunter2", "root_salt": "", "iso_url": []string{"https://u:p@h/x"}, "name": "x"}
	got, err := JSON(v, func(k string) bool { return strings.Contains(k, "pass") || strings.Contains(k, "salt") })
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iso_url":["https://REDACTED@h/x"],"name":"x","root_pass":"REDACTED","root_salt":""}`
	if string(got) != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
}
