# The seven image builds. The build block has no name, so each build is
# called <builder>.<provider> and `-only` takes exactly the selectors of
# providers.Provider.PackerSource(): virtualbox-iso.aws, qemu.gcp, ...

packer {
  # 1.9.4 is the last release that bundles the qemu, virtualbox, vmware and
  # ansible plugins (no `packer init`); internal/packer builds it.
  required_version = ">= 1.9.0, < 1.10.0"
}

build {
  # Group 1 (VirtualBox). aws: an OVA for AWS VM Import, no guest additions.
  source "source.virtualbox-iso.base" {
    name                 = "aws"
    vm_name              = "${local.stem}_aws"
    output_directory     = "${var.output_root}/aws"
    boot_command         = local.boot_command["aws"]
    guest_additions_mode = "disable"
  }

  # virtualbox: an OVA for Vagrant; the guest additions ISO is uploaded to
  # /root/VBoxGuestAdditions.iso and the Ansible play installs it.
  source "source.virtualbox-iso.base" {
    name                 = "virtualbox"
    vm_name              = "${local.stem}_virtualbox"
    output_directory     = "${var.output_root}/virtualbox"
    boot_command         = local.boot_command["virtualbox"]
    guest_additions_mode = "upload"
    guest_additions_path = "/root/VBoxGuestAdditions.iso"
  }

  # Group 2 (QEMU): qcow2 disks the artifact step converts (VHD, tar, raw).
  source "source.qemu.base" {
    name             = "azure"
    vm_name          = "${local.stem}_azure.qcow2"
    output_directory = "${var.output_root}/azure"
    boot_command     = local.boot_command["azure"]
  }

  source "source.qemu.base" {
    name             = "docker"
    vm_name          = "${local.stem}_docker.qcow2"
    output_directory = "${var.output_root}/docker"
    boot_command     = local.boot_command["docker"]
  }

  source "source.qemu.base" {
    name             = "gcp"
    vm_name          = "${local.stem}_gcp.qcow2"
    output_directory = "${var.output_root}/gcp"
    boot_command     = local.boot_command["gcp"]
  }

  # openstack: the qcow2 is shipped as it is, so it is compressed.
  source "source.qemu.base" {
    name             = "openstack"
    vm_name          = "${local.stem}_openstack.qcow2"
    output_directory = "${var.output_root}/openstack"
    boot_command     = local.boot_command["openstack"]
    disk_compression = true
  }

  # Group 2 (VMware): <stem>.vmx and its .vmdk disk.
  sources = ["source.vmware-iso.vmware"]

  provisioner "ansible" {
    playbook_file = "${var.repo_root}/ansible/site.yml"
    user          = "root"
    use_proxy     = false
    sftp_command  = "/usr/libexec/openssh/sftp-server -e"
    # JSON so that paths with spaces survive; site.yml reads these variables.
    extra_arguments = [
      "--extra-vars", jsonencode(merge(local.ansible_vars, { build = source.name })),
    ]
    # Pipelining sends each module on the SSH session's stdin instead of
    # copying it to a temporary folder first: one SSH command per task
    # instead of four, which matters most in an emulated guest. Safe as
    # root (no sudo, so no requiretty).
    ansible_env_vars = ["ANSIBLE_HOST_KEY_CHECKING=False", "ANSIBLE_NOCOLOR=True", "ANSIBLE_PIPELINING=True"]
  }

  provisioner "shell" {
    scripts = [
      "${var.repo_root}/scripts/cleanup.sh",
      "${var.repo_root}/scripts/zero.sh",
    ]
  }
}
