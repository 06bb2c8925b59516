#!/bin/sh
# Installs the Debian packages gil-lab needs, and nothing when all are present.
# As root it runs apt-get; otherwise through sudo when it can ask without a
# password prompt blocking a script; otherwise it prints the exact command.
#   sh scripts/setup.sh        what building and running need (make demo)
#   sh scripts/setup.sh test   also what only the tests use (make test):
#                              headless Chromium, which renders the HTML report
set -eu

PKGS="cmake make gcc pkg-config libhwloc-dev hwloc libcriterion-dev libmimalloc-dev libjansson-dev gnuplot-nox python3"
if [ "${1:-}" = test ]; then
    PKGS="$PKGS chromium"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
echo "setup: installing:$missing" >&2
if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $cmd
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive $cmd
else
    echo "setup: missing packages; run as root: apt-get update && $cmd" >&2
    exit 1
fi
