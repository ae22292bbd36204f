#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test callvault (libsndfile and SQLite dev packages),
# plus any extra Debian packages named as arguments (the benchmarks want sox, espeak-ng, sqlite3, time).
# `--no-recommends` first: the named packages without their recommendations (chromium's pull in printing and
# desktop services a headless test never uses; with them the install took ~2.5 min here).
set -euo pipefail
recommends=()
if [ "${1:-}" = "--no-recommends" ]; then recommends=(--no-install-recommends); shift; fi
need=(libsndfile1-dev libsqlite3-dev libkissfft-dev libsamplerate0-dev pkg-config sqlite3 bc curl openssl "$@")  # curl: the metrics and serve tests; openssl: the TLS test
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${recommends[@]}" "${missing[@]}" >/dev/null
fi
