#!/usr/bin/env bash
# Installs what PhoneHub needs on a fresh Debian 12 machine (registries only), skipping what is there:
# Debian's Rust toolchain and lld for the wasm32 build, Chromium for browser tests, npm packages from
# the lockfile, and wasm-bindgen-cli at the exact version of the wasm-bindgen crate in Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(rustc-web cargo-web rust-web-src lld-22 chromium)
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]} (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  echo "deps: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (cargo)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

scripts/moto.sh # moto (PyPI) for telephony's AWS tests, at its pinned version; quiet when there
scripts/smtp.sh # aiosmtpd (PyPI), the SMTP server the e-mail alert tests send to; quiet when there

# npm install (from the committed lockfile) only when it changed since the last install. Not
# `npm ci`: the registry's lockfiles here omit other platforms' optional packages, which ci rejects.
stamp=node_modules/.phonehub-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "deps: npm install (package-lock.json)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --no-save
  cp package-lock.json "$stamp"
fi
