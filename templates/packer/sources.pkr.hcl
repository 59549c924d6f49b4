# One base source per Packer builder; build.pkr.hcl names one instance per
# provider (qemu.gcp, virtualbox-iso.aws, ...) and sets only what differs:
# output folder, file name, kickstart URL and the provider's extras.

locals {
  # Extra variables of ansible/site.yml common to every build, and the
  # site's guest switches (each an Ansible variable); the provisioner adds
  # the build's own name.
  ansible_vars = merge({
    vm_name                 = var.vm_name
    version                 = var.version
    vagrant_public_key_file = var.vagrant_public_key_file
    repo_server             = var.repo_server
    os_version              = var.os_version
    gcp_guest_repo          = var.gcp_guest_repo
    namespace               = var.namespace
    ks_server               = var.ks_server
    os_definition           = var.os_definition
  }, var.guest)

  # Kickstart server as the guests see it. QEMU and VirtualBox user-mode NAT
  # maps 10.0.2.2 to the host's loopback; VMware NAT guests reach the host at
  # the address Packer finds for its vmnet ({{ .HTTPIP }}, filled in at boot).
  ks_base_nat    = var.ks_base_url != "" ? trimsuffix(var.ks_base_url, "/") : "http://10.0.2.2:${var.ks_port}"
  ks_base_vmware = var.ks_base_url != "" ? trimsuffix(var.ks_base_url, "/") : "http://{{ .HTTPIP }}:${var.ks_port}"

  # Kickstart base URL of each provider's guest.
  ks_base = {
    aws        = local.ks_base_nat
    virtualbox = local.ks_base_nat
    azure      = local.ks_base_nat
    docker     = local.ks_base_nat
    gcp        = local.ks_base_nat
    openstack  = local.ks_base_nat
    vmware     = local.ks_base_vmware
  }

  # The keys that open the boot menu's kernel line for editing (before), the
  # quote around the kickstart URL, and the keys that boot it (after), per
  # boot_menu. isolinux (CentOS/RHEL 7 ISOs): <up> moves from "Test this
  # media & install" to "Install", <tab> opens its kernel line. grub (EL 8+
  # UEFI, the e2e fixture): e edits the first entry, two <down> reach its
  # kernel line below setparams and a blank line, <f10> boots; GRUB's
  # parser splits words at &, so the URL is quoted. grub-install (EL ISOs
  # under UEFI, and EL 10's under BIOS too, whose menu is GRUB2): <up>
  # moves from "Test this media & install" to "Install", e edits it, two
  # <down> reach the linux/linuxefi line, Ctrl-X boots it.
  boot_keys = {
    isolinux       = { before = "<up><wait><tab><wait>", quote = "", after = "<enter><wait>" }
    grub           = { before = "e<wait><down><down><end>", quote = "'", after = "<f10><wait>" }
    "grub-install" = { before = "<up><wait>e<wait><down><down><end><wait>", quote = "'", after = "<leftCtrlOn>x<leftCtrlOff><wait>" }
  }

  uefi = var.firmware == "uefi"

  # How long after power-on the boot_command is typed: UEFI firmware (OVMF
  # under TCG especially) takes longer to reach the menu, whose timeout on
  # the EL ISOs is 60 s.
  boot_wait = local.uefi ? "30s" : "10s"

  # The text typed after the keys is appended to the kernel line.
  boot_command = {
    for provider, base in local.ks_base : provider => [
      format("%s inst.text inst.ks=%s%s%s?build=virtual/%s&os=%s%s%s",
        local.boot_keys[var.boot_menu].before, local.boot_keys[var.boot_menu].quote, base, var.ks_path, provider, var.vm_name,
      local.boot_keys[var.boot_menu].quote, local.boot_keys[var.boot_menu].after)
    ]
  }

  # File stem of every output: <vm_name>-<version>_<provider>.
  stem = "${var.vm_name}-${var.version}"

  shutdown_command = "/sbin/shutdown -hP now"

  # VBoxManage commands run once the VirtualBox VM is made: no USB (OHCI,
  # EHCI) and no audio, as the original project's (Packer's usb and sound
  # defaults agree); VirtualBox 7's NAT switch that lets the guest reach the
  # host's loopback, where the kickstart server listens.
  virtualbox_modifyvm = concat(
    [["modifyvm", "{{ .Name }}", "--usb", "off", "--usbehci", "off", "--audio", "none"]],
    var.virtualbox_nat_localhost ? [["modifyvm", "{{ .Name }}", "--nat-localhostreachable1", "on"]] : [],
  )

  # VMX settings of the vmware build: its NIC in PCI slot 32, as the
  # original's, so the guest names it the same on every VM (ens32); EFI
  # firmware for a UEFI build.
  vmware_vmx_data = merge({ "ethernet0.pciSlotNumber" = "32" }, local.uefi ? { firmware = "efi" } : {})
}

source "qemu" "base" {
  iso_url              = var.iso_path
  iso_checksum         = var.iso_checksum
  disk_image           = var.disk_image
  qemuargs             = concat(var.qemu_args, var.x86_64_v3 ? [["-cpu", "max"]] : [])
  efi_boot             = local.uefi
  efi_firmware_code    = local.uefi ? var.ovmf_code : null
  efi_firmware_vars    = local.uefi ? var.ovmf_vars : null
  headless             = var.headless
  accelerator          = var.accelerator
  cpus                 = var.cpus
  memory               = var.memory
  disk_size            = "${var.disk_size}M"
  disk_interface       = "virtio"
  net_device           = "virtio-net"
  format               = "qcow2"
  boot_wait            = local.boot_wait
  communicator         = "ssh"
  ssh_username         = "root"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = var.ssh_timeout
  shutdown_command     = local.shutdown_command
}

source "virtualbox-iso" "base" {
  iso_url              = var.iso_path
  iso_checksum         = var.iso_checksum
  guest_os_type        = "RedHat_64"
  firmware             = local.uefi ? "efi" : "bios"
  headless             = var.headless
  cpus                 = var.cpus
  memory               = var.memory
  disk_size            = var.disk_size
  hard_drive_interface = "sata"
  format               = "ova"
  boot_wait            = local.boot_wait
  communicator         = "ssh"
  ssh_username         = "root"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = var.ssh_timeout
  shutdown_command     = local.shutdown_command
  vboxmanage           = local.virtualbox_modifyvm
}

source "vmware-iso" "vmware" {
  iso_url              = var.iso_path
  iso_checksum         = var.iso_checksum
  guest_os_type        = var.vmware_guest_os_type
  vmx_data             = local.vmware_vmx_data
  headless             = var.headless
  cpus                 = var.cpus
  memory               = var.memory
  disk_size            = var.disk_size
  disk_adapter_type    = "lsilogic"
  network_adapter_type = "vmxnet3"
  boot_wait            = local.boot_wait
  communicator         = "ssh"
  ssh_username         = "root"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = var.ssh_timeout
  shutdown_command     = local.shutdown_command
  vm_name              = "${local.stem}_vmware"
  output_directory     = "${var.output_root}/vmware"
  boot_command         = local.boot_command["vmware"]
}
