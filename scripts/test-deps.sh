#!/usr/bin/env bash
# Things the browser tests need that pip cannot provide: Debian's Chromium and its driver
# (Playwright drives /usr/bin/chromium; its own browser download is not reachable here), plus
# Noto fonts so Chinese and Arabic text render in screenshots instead of empty boxes.
set -euo pipefail
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || packages+=(chromium-driver)
if command -v fc-list >/dev/null 2>&1; then
  fc-list :lang=zh | grep -q . || packages+=(fonts-noto-cjk)
  fc-list :lang=ar | grep -q . || packages+=(fonts-noto-core)
fi
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing for the browser tests (Debian packages): ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
else
  echo "missing for the browser tests: ${packages[*]} (install these Debian packages)" >&2
fi
