# The variables the pipeline passes to every build (pipeline.Vars), with the
# types the real templates in templates/packer must declare. The test runs
# the real Packer on this template with a var-file the pipeline wrote.

variable "vm_name" { type = string }
variable "version" { type = string }
variable "os_version" { type = string }
variable "repo_server" { type = string }
variable "gcp_guest_repo" { type = string }
variable "iso_path" { type = string }
variable "iso_checksum" { type = string }
variable "ks_port" { type = number }
variable "ks_base_url" { type = string }
variable "headless" { type = bool }
variable "disk_size" { type = number }
variable "ssh_timeout" { type = string }
variable "ssh_private_key_file" { type = string }
variable "vagrant_public_key_file" { type = string }
variable "output_root" { type = string }
variable "repo_root" { type = string }
variable "accelerator" { type = string }
variable "cpus" { type = number }
variable "memory" { type = number }
variable "virtualbox_nat_localhost" { type = bool }
variable "firmware" { type = string }
variable "boot_menu" { type = string }
variable "vmware_guest_os_type" { type = string }
variable "ks_path" { type = string }
variable "namespace" { type = string }
variable "ks_server" { type = string }
variable "os_definition" {
  type = object({ vm_name = string, os_name = string, os_version = string, iso = string, iso_checksum = string, iso_server = string, repo_server = string })
}
variable "guest" {
  type = object({ cloud_init_disable_root = bool, azure_agent_swap = bool, gcp_network_ipv6 = bool, gcp_ssh_client_config = bool })
}

source "null" "contract" {
  communicator = "none"
}

build {
  sources = ["source.null.contract"]

  provisioner "shell-local" {
    inline = [
      "echo vm_name=${var.vm_name} version=${var.version} os=${var.os_version} repo=${var.repo_server}",
      "echo iso=${var.iso_path} ${var.iso_checksum}",
      "echo ks=${var.ks_port} '${var.ks_base_url}' headless=${var.headless} disk=${var.disk_size}",
      "echo ssh=${var.ssh_timeout} ${var.ssh_private_key_file} ${var.vagrant_public_key_file}",
      "echo out=${var.output_root} root=${var.repo_root} accel=${var.accelerator}",
      "echo cpus=${var.cpus} memory=${var.memory} nat=${var.virtualbox_nat_localhost}",
      "echo firmware=${var.firmware} menu=${var.boot_menu} guest=${var.vmware_guest_os_type}",
      "echo path='${var.ks_path}' namespace=${var.namespace} server='${var.ks_server}' os=${var.os_definition.vm_name} root=${var.guest.cloud_init_disable_root}",
    ]
  }
}

# A build that waits, for the cancellation test: it writes into its output
# folder and sleeps until Packer is interrupted.
variable "sleep_seconds" {
  type    = number
  default = 0
}

source "null" "sleeper" {
  communicator = "none"
}

build {
  sources = ["source.null.sleeper"]

  provisioner "shell-local" {
    inline = [
      "mkdir -p ${var.output_root}/sleeper && echo half > ${var.output_root}/sleeper/partial.vmdk",
      "sleep ${var.sleep_seconds}",
    ]
  }
}

# A build that fails, for the test that quotes Packer's error lines.
source "null" "failer" {
  communicator = "none"
}

build {
  sources = ["source.null.failer"]

  provisioner "shell-local" {
    inline = [
      "echo the guest has no room left >&2",
      "exit 3",
    ]
  }
}
