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
