# Sourced by scripts/test.sh and bench/bench.sh: the one place that finds
# missing Debian packages and installs them (as root, with apt-get), or
# says in one line what is missing.
#
#   need_command <command> <package>   the package that provides a command
#   need_package <package>             a package without a command (a library)
#   install_missing <who>              installs what was found missing, or exits 1

missing_packages=()

need_command() {
  command -v "$1" >/dev/null 2>&1 || missing_packages+=("$2")
}

need_package() {
  # Only where dpkg exists: elsewhere a library is found or not by the suite.
  if command -v dpkg >/dev/null 2>&1; then
    dpkg -s "$1" >/dev/null 2>&1 || missing_packages+=("$1")
  fi
}

install_missing() {
  [ "${#missing_packages[@]}" -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$1: installing ${missing_packages[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >/dev/null
    missing_packages=()
  else
    echo "$1: missing ${missing_packages[*]} (install with: sudo apt-get install ${missing_packages[*]})" >&2
    exit 1
  fi
}
