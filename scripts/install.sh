# Sourced by ./run and ./test: install what kvmweb needs on Debian 12, then the venv.
# Safe to run again: every step checks first.

KVMWEB_APT_PACKAGES=(
  # libvirt daemon + headers to build libvirt-python
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients libvirt-dev pkg-config
  qemu-system-x86 qemu-utils ipxe-qemu dnsmasq-base nftables iptables
  redis-server openssh-server openssh-client iproute2 bridge-utils procps kmod
  # the lab's guests: kernel modules, busybox, cpio
  busybox-static cpio gzip ifupdown
  # PostgreSQL (production database, and the second test run)
  postgresql
  # the TLS proxy in front of the web processes (deploy/nginx). (Redis Sentinel, README "Scaling
  # out", is `redis-server --sentinel`: the tests run one that way; Debian's redis-sentinel
  # package would start a system-wide one.)
  nginx
  # browser tests
  chromium
  # building wheels
  gcc python3-dev python3-venv
)

kvmweb_install() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local missing=()
  for pkg in "${KVMWEB_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "kvmweb needs these Debian packages. Run as root:" >&2
      echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
      return 1
    fi
    echo "== installing Debian packages: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  # The lab's guest builder fetches the kernel and busybox .debs with apt-get download.
  if [ "$(id -u)" = 0 ] && ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
    apt-get update -q
  fi
  local py=${PYTHON:-python3}
  if [ ! -x "$root/.venv/bin/python" ]; then
    echo "== creating the virtual environment .venv"
    "$py" -m venv "$root/.venv"
  fi
  if ! cmp -s "$root/requirements.lock" "$root/.venv/.installed-lock" 2>/dev/null; then
    echo "== installing Python packages from requirements.lock"
    "$root/.venv/bin/pip" install -q --upgrade pip
    "$root/.venv/bin/pip" install -q -r "$root/requirements.lock"
    cp "$root/requirements.lock" "$root/.venv/.installed-lock"
  fi
}
