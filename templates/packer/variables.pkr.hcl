# Input variables of the image builds. internal/packer passes every one
# of them in a var-file written from the validated configuration
# (templates/site.json and templates/os/<vm_name>.json), to `packer build`
# and `mage validate` alike; the defaults only serve hand runs. No secret
# passes through Packer: it logs in with the key pair keys/packer, and the
# root password lives only in the kickstart.

variable "vm_name" {
  type        = string
  description = "Name of the OS definition (templates/os/<vm_name>.json) and stem of every artifact, e.g. CentOS-7.9.2009."
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]*$", var.vm_name))
    error_message = "The vm_name must start with a letter or digit and hold only letters, digits, '.', '_' and '-', e.g. \"CentOS-7.9.2009\"."
  }
}

variable "version" {
  type        = string
  description = "Version of the images built (site setting version, VERSION overrides), e.g. 1.0.0."
  validation {
    condition     = can(regex("^[0-9A-Za-z][0-9A-Za-z._+-]*$", var.version))
    error_message = "The version must start with a letter or digit and hold only letters, digits, '.', '_', '+' and '-', e.g. \"1.0.0\"."
  }
}

variable "os_version" {
  type        = string
  default     = ""
  description = "Release of the OS definition, e.g. 7.9.2009: Ansible points yum at <repo_server>/<os_version>. Empty: Ansible reads it from the installed system."
  validation {
    condition     = var.os_version == "" || can(regex("^[0-9]+(\\.[0-9]+)*$", var.os_version))
    error_message = "The os_version must be empty or digits and dots, e.g. \"7.9.2009\"."
  }
}

variable "repo_server" {
  type        = string
  default     = ""
  description = "Package server of the OS definition (repo_server), e.g. https://vault.centos.org: Ansible points the image's yum at <repo_server>/<os_version>/{os,updates,extras}. Empty: CentOS uses the CentOS vault, other systems keep their repositories as installed."
  validation {
    condition     = var.repo_server == "" || can(regex("^https?://[^/?#\\s]+(/[^?#\\s]*)?$", var.repo_server))
    error_message = "The repo_server must be empty or an http:// or https:// URL without query, e.g. \"https://vault.centos.org\"."
  }
}

variable "gcp_guest_repo" {
  type        = string
  default     = "https://packages.cloud.google.com/yum"
  description = "Base of Google's yum tree (site gcp_guest_repo): the gcp image installs Google's guest environment from <gcp_guest_repo>/repos/google-compute-engine-el<N>-x86_64-stable, keys from <gcp_guest_repo>/doc."
  validation {
    condition     = can(regex("^https?://[^/?#\\s]+(/[^?#\\s]*)?$", var.gcp_guest_repo))
    error_message = "The gcp_guest_repo must be an http:// or https:// URL without query, e.g. \"https://packages.cloud.google.com/yum\"."
  }
}

variable "iso_path" {
  type        = string
  description = "Local path of the verified installation ISO (mage iso fetches it into isos/). Packer never downloads."
  validation {
    condition     = fileexists(var.iso_path)
    error_message = "The iso_path must name an existing local ISO file: Packer never downloads; fetch and verify it first (the build targets do)."
  }
}

variable "iso_checksum" {
  type        = string
  description = "Checksum of the ISO as \"sha256:<64 hex characters>\"."
  validation {
    condition     = can(regex("^sha256:[0-9a-fA-F]{64}$", var.iso_checksum))
    error_message = "The iso_checksum must be \"sha256:\" followed by 64 hex characters, e.g. \"sha256:07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a\"."
  }
}

variable "ks_port" {
  type        = number
  description = "TCP port of the in-process kickstart server on the host; 0 when ks_base_url names the site's own server."
  validation {
    condition     = var.ks_port >= 0 && var.ks_port <= 65535 && floor(var.ks_port) == var.ks_port
    error_message = "The ks_port must be a whole number from 0 to 65535 (0 only with ks_base_url)."
  }
}

variable "ks_base_url" {
  type        = string
  default     = ""
  description = "Base URL of the kickstart server as the guests see it (site setting ks_server). Empty: QEMU and VirtualBox guests use http://10.0.2.2:<ks_port> (user-mode NAT reaches the host's loopback), VMware guests http://<host IP>:<ks_port>."
  validation {
    condition     = var.ks_base_url == "" || can(regex("^https?://[^/?#\\s]+(/[^?#\\s]*)?$", var.ks_base_url))
    error_message = "The ks_base_url must be empty or an http:// or https:// URL without query, e.g. \"http://192.168.1.10:8080\"."
  }
}

variable "ks_path" {
  type        = string
  default     = "/ks"
  description = "Path of the kickstart on the server the guests fetch it from: /ks (the builds' own server), or <path>/ks.php on the site's ks_server (the original's PHP server answers it, and ks:up too)."
  validation {
    condition     = can(regex("^(/[A-Za-z0-9._~-]+)+$", var.ks_path))
    error_message = "The ks_path must be an absolute URL path such as \"/ks\" or \"/gsi/ks.php\"."
  }
}

variable "namespace" {
  type        = string
  default     = "gold"
  description = "The site's namespace, for Ansible (packer_namespace in the original's playbooks)."
}

variable "ks_server" {
  type        = string
  default     = ""
  description = "The site's ks_server as given, for Ansible (packer_ks_server in the original's playbooks); empty when the builds serve the kickstarts themselves."
}

variable "os_definition" {
  type = object({
    vm_name      = string
    os_name      = string
    os_version   = string
    iso          = string
    iso_checksum = string
    iso_server   = string
    repo_server  = string
  })
  default     = null
  description = "The OS definition's original fields, for Ansible (packer_os in the original's playbooks)."
}

variable "guest" {
  type = object({
    cloud_init_disable_root = bool
    azure_agent_swap        = bool
    gcp_network_ipv6        = bool
    gcp_ssh_client_config   = bool
  })
  default = {
    cloud_init_disable_root = true
    azure_agent_swap        = true
    gcp_network_ipv6        = true
    gcp_ssh_client_config   = false
  }
  description = "The site's guest switches (site setting guest): each an Ansible variable of the same name that gives back the original project's guest where this one differs on purpose."
}

variable "headless" {
  type        = bool
  default     = true
  description = "Run the hypervisors without a window (site setting headless; HEADLESS=0 shows them)."
}

variable "disk_size" {
  type        = number
  default     = 20480
  description = "Size of the system disk in MiB."
  validation {
    condition     = var.disk_size >= 4096 && floor(var.disk_size) == var.disk_size
    error_message = "The disk_size must be a whole number of MiB, at least 4096."
  }
}

variable "cpus" {
  type        = number
  default     = 2
  description = "Virtual CPUs of the build VMs (site setting cpus)."
  validation {
    condition     = var.cpus >= 1 && floor(var.cpus) == var.cpus
    error_message = "The cpus must be a whole number, at least 1."
  }
}

variable "memory" {
  type        = number
  default     = 2048
  description = "Memory of the build VMs in MiB (site setting memory; the CentOS 7 installer needs at least 1024)."
  validation {
    condition     = var.memory >= 1024 && floor(var.memory) == var.memory
    error_message = "The memory must be a whole number of MiB, at least 1024."
  }
}

variable "ssh_timeout" {
  type        = string
  default     = "60m"
  description = "How long Packer waits for SSH (the OS install happens meanwhile), Go duration, e.g. 60m."
  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$", var.ssh_timeout))
    error_message = "The ssh_timeout must be a Go duration such as \"60m\" or \"1h30m\"."
  }
}

variable "ssh_private_key_file" {
  type        = string
  description = "Private key Packer logs in as root with (keys/packer; the kickstart installs keys/packer.pub)."
  validation {
    condition     = fileexists(var.ssh_private_key_file)
    error_message = "The ssh_private_key_file must name an existing private key file: run `mage keys` to create keys/packer."
  }
}

variable "vagrant_public_key_file" {
  type        = string
  description = "Public key of the vagrant user (keys/vagrant.pub), passed to Ansible."
  validation {
    condition     = fileexists(var.vagrant_public_key_file)
    error_message = "The vagrant_public_key_file must name an existing public key file: run `mage keys` to create keys/vagrant.pub."
  }
}

variable "output_root" {
  type        = string
  description = "Absolute folder the builds write into, one sub-folder per provider (<repo>/.cache/packer-output/<version>/<vm_name>)."
  validation {
    condition     = can(regex("^/", var.output_root))
    error_message = "The output_root must be an absolute path."
  }
}

variable "repo_root" {
  type        = string
  description = "Absolute path of the repository: the Ansible playbooks and guest scripts are read below it."
  validation {
    condition     = can(regex("^/", var.repo_root))
    error_message = "The repo_root must be an absolute path."
  }
}

variable "virtualbox_nat_localhost" {
  type        = bool
  default     = true
  description = "(Site setting virtualbox_nat_localhost.) Let VirtualBox (7.0 and later) guests reach the host's loopback through NAT at 10.0.2.2, where the kickstart server listens. Set false for VirtualBox 6.1, which lacks the option and always allows it."
}

variable "accelerator" {
  type        = string
  default     = ""
  description = "QEMU accelerator: kvm, tcg, or empty to let Packer choose (kvm when /dev/kvm is usable, else tcg). The build targets pass what their preflight found."
  validation {
    condition     = contains(["", "kvm", "tcg"], var.accelerator)
    error_message = "The accelerator must be \"kvm\", \"tcg\" or empty."
  }
}

variable "disk_image" {
  type        = bool
  default     = false
  description = "The QEMU builds start from iso_path as a bootable disk image (Packer's disk_image) instead of installing from it as an ISO. The e2e test's fixture guest uses it."
}

variable "boot_menu" {
  type        = string
  default     = "isolinux"
  description = "The boot menu the boot_command edits to append the kickstart URL to the kernel line: isolinux (EL 7 to 9 ISOs booted by BIOS), grub-install (EL ISOs booted by UEFI, and EL 10 ISOs) or grub (the e2e fixture's disk)."
  validation {
    condition     = contains(["isolinux", "grub", "grub-install"], var.boot_menu)
    error_message = "The boot_menu must be \"isolinux\", \"grub-install\" or \"grub\"."
  }
}

variable "firmware" {
  type        = string
  default     = "bios"
  description = "Firmware of the build VMs (the OS definition's or site's firmware): bios, or uefi (QEMU boots OVMF, VirtualBox and VMware their EFI firmware)."
  validation {
    condition     = contains(["bios", "uefi"], var.firmware)
    error_message = "The firmware must be \"bios\" or \"uefi\"."
  }
}

variable "ovmf_code" {
  type        = string
  default     = "/usr/share/OVMF/OVMF_CODE_4M.fd"
  description = "OVMF firmware code the QEMU builds boot with firmware uefi (Debian's ovmf package)."
}

variable "ovmf_vars" {
  type        = string
  default     = "/usr/share/OVMF/OVMF_VARS_4M.fd"
  description = "OVMF variable store template copied for each QEMU build with firmware uefi (Debian's ovmf package)."
}

variable "x86_64_v3" {
  type        = bool
  default     = false
  description = "The OS needs an x86-64-v3 CPU (EL 10): the QEMU builds use -cpu max, which has AVX2, BMI2, FMA and MOVBE under KVM and under TCG (QEMU 7.2 and later)."
}

variable "vmware_guest_os_type" {
  type        = string
  default     = "centos7-64"
  description = "VMware guest OS type of the vmware build, e.g. centos7-64, rhel8-64, rhel9-64."
  validation {
    condition     = can(regex("^[a-z0-9-]+$", var.vmware_guest_os_type))
    error_message = "The vmware_guest_os_type must be a VMware guest id such as \"rhel9-64\"."
  }
}

variable "qemu_args" {
  type        = list(list(string))
  default     = []
  description = "Extra QEMU arguments of the QEMU builds (Packer's qemuargs): each list is a switch and its value; a switch Packer also sets, such as -netdev, replaces Packer's. {{ .SSHHostPort }} is Packer's SSH port on the host. Empty: Packer's defaults."
}
