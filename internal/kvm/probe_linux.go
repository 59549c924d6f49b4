package kvm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// ioctl numbers and sizes from <linux/kvm.h> (x86).
const (
	kvmGetAPIVersion       = 0xAE00
	kvmCreateVM            = 0xAE01
	kvmGetVCPUMmapSize     = 0xAE04
	kvmCreateVCPU          = 0xAE41
	kvmSetUserMemoryRegion = 0x4020AE46 // _IOW(0xAE, 0x46, 32 bytes)
	kvmRun                 = 0xAE80
	kvmSetRegs             = 0x4090AE82 // _IOW(0xAE, 0x82, struct kvm_regs: 144 bytes)
	kvmGetSregs            = 0x8138AE83 // _IOR(0xAE, 0x83, struct kvm_sregs: 312 bytes)
	kvmSetSregs            = 0x4138AE84 // _IOW(0xAE, 0x84, 312 bytes)

	kvmAPIVersion = 12
	exitHLT       = 5
	pageSize      = 4096
	hlt           = 0xF4
)

// exitNames names the exit reasons a failed probe is likely to see.
var exitNames = map[uint32]string{
	0: "KVM_EXIT_UNKNOWN", 2: "KVM_EXIT_IO", 6: "KVM_EXIT_MMIO", 8: "KVM_EXIT_SHUTDOWN",
	9: "KVM_EXIT_FAIL_ENTRY", 17: "KVM_EXIT_INTERNAL_ERROR",
}

// probe runs a real-mode guest whose only instruction is HLT at address 0
// and returns "" when it exits with KVM_EXIT_HLT, else why not.
func probe(device string, timeout time.Duration) string {
	kvmFD, err := os.OpenFile(device, os.O_RDWR|syscall.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "absent"
	case err != nil:
		return "present but not accessible (" + err.Error() + ")"
	}
	defer kvmFD.Close()
	if v, err := ioctl(kvmFD.Fd(), kvmGetAPIVersion, 0); err != nil || v != kvmAPIVersion {
		return fmt.Sprintf("present but not a KVM device (KVM_GET_API_VERSION: %d, %v)", v, err)
	}
	done := make(chan string, 1)
	// KVM_RUN cannot be interrupted from here: a guest that never exits
	// keeps this goroutine, which the timeout below abandons.
	go func() { done <- runHLTGuest(kvmFD.Fd()) }()
	select {
	case reason := <-done:
		return reason
	case <-time.After(timeout):
		return fmt.Sprintf("present but runs no guest (a HLT guest did not exit within %s)", timeout)
	}
}

func runHLTGuest(kvm uintptr) string {
	fail := func(step string, err error) string {
		return fmt.Sprintf("present but runs no guest (%s: %v)", step, err)
	}
	vm, err := ioctl(kvm, kvmCreateVM, 0)
	if err != nil {
		return fail("KVM_CREATE_VM", err)
	}
	defer syscall.Close(int(vm))
	mem, err := syscall.Mmap(-1, 0, pageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_ANONYMOUS)
	if err != nil {
		return fail("mmap", err)
	}
	defer syscall.Munmap(mem)
	mem[0] = hlt
	region := struct {
		slot, flags                              uint32
		guestPhysAddr, memorySize, userspaceAddr uint64
	}{memorySize: pageSize, userspaceAddr: uint64(uintptr(unsafe.Pointer(&mem[0])))}
	if _, err := ioctl(uintptr(vm), kvmSetUserMemoryRegion, uintptr(unsafe.Pointer(&region))); err != nil {
		return fail("KVM_SET_USER_MEMORY_REGION", err)
	}
	vcpu, err := ioctl(uintptr(vm), kvmCreateVCPU, 0)
	if err != nil {
		return fail("KVM_CREATE_VCPU", err)
	}
	defer syscall.Close(int(vcpu))
	runSize, err := ioctl(kvm, kvmGetVCPUMmapSize, 0)
	if err != nil {
		return fail("KVM_GET_VCPU_MMAP_SIZE", err)
	}
	run, err := syscall.Mmap(int(vcpu), 0, int(runSize), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fail("mmap kvm_run", err)
	}
	defer syscall.Munmap(run)
	// Code segment at 0: struct kvm_segment cs is first in kvm_sregs, with
	// base (u64) at offset 0 and selector (u16) at offset 12.
	var sregs [312]byte
	if _, err := ioctl(uintptr(vcpu), kvmGetSregs, uintptr(unsafe.Pointer(&sregs))); err != nil {
		return fail("KVM_GET_SREGS", err)
	}
	*(*uint64)(unsafe.Pointer(&sregs[0])) = 0
	*(*uint16)(unsafe.Pointer(&sregs[12])) = 0
	if _, err := ioctl(uintptr(vcpu), kvmSetSregs, uintptr(unsafe.Pointer(&sregs))); err != nil {
		return fail("KVM_SET_SREGS", err)
	}
	// struct kvm_regs: 16 general registers, then rip and rflags.
	var regs [18]uint64
	regs[16], regs[17] = 0, 2
	if _, err := ioctl(uintptr(vcpu), kvmSetRegs, uintptr(unsafe.Pointer(&regs))); err != nil {
		return fail("KVM_SET_REGS", err)
	}
	if _, err := ioctl(uintptr(vcpu), kvmRun, 0); err != nil {
		return fail("KVM_RUN", err)
	}
	// struct kvm_run: exit_reason (u32) at offset 8.
	reason := *(*uint32)(unsafe.Pointer(&run[8]))
	if reason != exitHLT {
		name := exitNames[reason]
		if name == "" {
			name = fmt.Sprintf("exit reason %d", reason)
		}
		return fmt.Sprintf("present but runs no guest (a HLT guest ended with %s, not KVM_EXIT_HLT)", name)
	}
	return ""
}

func ioctl(fd, req, arg uintptr) (uintptr, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, arg)
	if errno != 0 {
		return r, errno
	}
	return r, nil
}
