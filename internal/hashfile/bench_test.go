package hashfile

import (
	"context"
	"crypto/sha256"
	"testing"
)

// BenchmarkFile measures one file hashed alone (in the page cache): reading
// overlaps with hashing.
func BenchmarkFile(b *testing.B) {
	const size = 256 << 20
	path := writeFile(b, randomData(size))
	b.SetBytes(size)
	for b.Loop() {
		if _, err := File(context.Background(), path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriter measures the streaming form in writes of 256 KiB, grab's
// buffer size in an ISO download.
func BenchmarkWriter(b *testing.B) {
	const size = 256 << 20
	data := randomData(size)
	b.SetBytes(size)
	for b.Loop() {
		w := NewWriter(sha256.New())
		for off := 0; off < size; off += 256 << 10 {
			w.Write(data[off : off+256<<10])
		}
		w.Close()
	}
}
