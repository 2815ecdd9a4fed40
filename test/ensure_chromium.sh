#!/usr/bin/env bash
# The dashboard test drives Debian's Chromium headless (never a downloaded browser build).
# `deno task test` runs this first so the README's test command works on a fresh machine.
set -u
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "the dashboard test needs Debian's chromium: run 'sudo apt-get install -y chromium'" >&2
  exit 1
fi
echo "installing Debian's chromium for the dashboard test (once)..." >&2
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || {
  echo "installing chromium with apt-get failed" >&2
  exit 1
}
