package config

import (
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"strings"
)

// cryptAlphabet is the base-64 alphabet of crypt(3).
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// hashRootPassword returns the SHA-512 crypt hash of password with salt.
// An empty password is replaced by a random one that is never kept; an empty
// salt by a random 16-character salt.
func hashRootPassword(password, salt string) (string, error) {
	var err error
	if password == "" {
		if password, err = randomCryptString(24); err != nil {
			return "", fmt.Errorf("making a random root password: %w", err)
		}
	}
	if salt == "" {
		if salt, err = randomCryptString(16); err != nil {
			return "", fmt.Errorf("making a random salt: %w", err)
		}
	}
	return SHA512Crypt(password, salt), nil
}

// randomCryptString returns n random characters of the crypt alphabet.
func randomCryptString(n int) (string, error) {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	for i, b := range buf {
		buf[i] = cryptAlphabet[int(b)%len(cryptAlphabet)]
	}
	return string(buf), nil
}

// SHA512Crypt computes the "$6$" password hash of Ulrich Drepper's
// SHA-crypt specification with the default 5000 rounds, as glibc's crypt(3)
// and `openssl passwd -6` do. Salts longer than 16 characters are cut.
func SHA512Crypt(password, salt string) string {
	const rounds = 5000
	if len(salt) > 16 {
		salt = salt[:16]
	}
	p, s := []byte(password), []byte(salt)

	alt := sha512.New()
	alt.Write(p)
	alt.Write(s)
	alt.Write(p)
	altSum := alt.Sum(nil)

	a := sha512.New()
	a.Write(p)
	a.Write(s)
	for n := len(p); n > 0; n -= 64 {
		a.Write(altSum[:min(n, 64)])
	}
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(altSum)
		} else {
			a.Write(p)
		}
	}
	sum := a.Sum(nil)

	dp := sha512.New()
	for range p {
		dp.Write(p)
	}
	pSeq := repeatTo(dp.Sum(nil), len(p))

	ds := sha512.New()
	for i := 0; i < 16+int(sum[0]); i++ {
		ds.Write(s)
	}
	sSeq := repeatTo(ds.Sum(nil), len(s))

	for i := 0; i < rounds; i++ {
		c := sha512.New()
		if i&1 != 0 {
			c.Write(pSeq)
		} else {
			c.Write(sum)
		}
		if i%3 != 0 {
			c.Write(sSeq)
		}
		if i%7 != 0 {
			c.Write(pSeq)
		}
		if i&1 != 0 {
			c.Write(sum)
		} else {
			c.Write(pSeq)
		}
		sum = c.Sum(sum[:0])
	}

	var out strings.Builder
	out.WriteString("$6$" + salt + "$")
	for i := 0; i < 21; i++ {
		j, k, l := i, (i+21)%63, (i+42)%63
		switch i % 3 {
		case 1:
			j, k, l = (i+21)%63, (i+42)%63, i
		case 2:
			j, k, l = (i+42)%63, i, (i+21)%63
		}
		encode24(&out, sum[j], sum[k], sum[l], 4)
	}
	encode24(&out, 0, 0, sum[63], 2)
	return out.String()
}

func repeatTo(block []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, block[:min(len(block), n-len(out))]...)
	}
	return out
}

func encode24(out *strings.Builder, b2, b1, b0 byte, n int) {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for ; n > 0; n-- {
		out.WriteByte(cryptAlphabet[w&0x3f])
		w >>= 6
	}
}
