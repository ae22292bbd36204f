#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test callvault (libsndfile and SQLite dev packages),
# plus any extra Debian packages named as arguments (the benchmarks want sox, espeak-ng, sqlite3, time).
set -euo pipefail
need=(libsndfile1-dev libsqlite3-dev libkissfft-dev libsamplerate0-dev pkg-config sqlite3 bc curl "$@")  # curl: the metrics tests
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
