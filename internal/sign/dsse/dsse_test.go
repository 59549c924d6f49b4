package dsse

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

// TestPAEIsTheSpecificationsEncoding: the example of the DSSE protocol
// (secure-systems-lab/dsse, protocol.md).
func TestPAEIsTheSpecificationsEncoding(t *testing.T) {
	got := string(PAE("http://example.com/HelloWorld", []byte("hello world")))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; got != want {
		t.Errorf("PAE = %q, want %q", got, want)
	}
}

func TestAnEnvelopeOpensWithItsKeyOnlyAndNotOnceItsPayloadChanged(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e, err := Sign(key, InTotoPayloadType, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := e.Open(&key.PublicKey); err != nil || string(p) != `{"a":1}` {
		t.Fatalf("Open = %q, %v", p, err)
	}
	if _, err := e.Open(&other.PublicKey); err == nil {
		t.Error("opened with another key")
	}
	e.PayloadType = "text/plain" // the type is signed too
	if _, err := e.Open(&key.PublicKey); err == nil {
		t.Error("opened with a changed payload type")
	}
}
