//go:build !linux

package kvm

import "time"

func probe(string, time.Duration) string { return "absent (KVM is Linux only)" }
