# Shared settings for the project's scripts (sourced, not run).
# shellcheck shell=bash

SMC_CACHE=${SMC_CACHE:-$HOME/.cache/smc-rs}
SYS_RUSTC=/usr/bin/rustc
BINDGEN_VERSION=0.73.2
BINDGEN=$SMC_CACHE/bindgen-$BINDGEN_VERSION/bin/bindgen
KSRC_PKG=linux-source-7.3
KSRC_TARBALL=$SMC_CACHE/src/$KSRC_PKG.tar.xz
LLVM_SUFFIX=-19
export LIBCLANG_PATH=/usr/lib/llvm-19/lib

# The Debian mirror this machine's apt is configured with.
debian_mirror() {
	local m
	m=$(grep -h -E '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE 'https?://[^ ]*/debian/?( |$)' | grep -v security | head -1 | tr -d ' ')
	[ -n "$m" ] && echo "${m%/}"
}

# Where rust-web-src keeps the core library source for $SYS_RUSTC.
rust_lib_src() {
	local sysroot
	sysroot=$("$SYS_RUSTC" --print sysroot 2>/dev/null)
	for d in "$sysroot/lib/rustlib/src/rust/library" /usr/src/rustc-*/library; do
		[ -d "$d/core" ] && { echo "$d"; return; }
	done
}

# The pristine kernel tree (extracted once per tarball) and the build
# directories (one per flavour and config input).
ksrc_dir() { echo "$SMC_CACHE/linux/src-$(ksrc_id)"; }
ksrc_id() { sha256sum < "$KSRC_TARBALL.deb" | cut -c1-12; }

# Make arguments for every kernel and module build: the Debian toolchain,
# named explicitly so the rustup toolchain first on PATH is never used
# (bindgen formats its output with the Debian rustfmt of the same release,
# rustfmt-web: the rustup one has no rustfmt component).
kmake_args() {
	echo LLVM=$LLVM_SUFFIX RUSTC=$SYS_RUSTC HOSTRUSTC=$SYS_RUSTC RUSTDOC=/usr/bin/rustdoc \
		RUSTFMT=/usr/bin/rustfmt BINDGEN=$BINDGEN RUST_LIB_SRC=$(rust_lib_src)
}

# Hash of the files named (content and path), for cache keys.
hash_files() {
	local f
	for f in "$@"; do echo "== $f"; cat "$f"; done | sha256sum | cut -c1-16
}

# The build directory of flavour $1.
kbuild_dir() {
	local repo fl
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	fl=$1
	echo "$SMC_CACHE/linux/build-$fl-$(cd "$repo" && hash_files kconfig/base.config "kconfig/$fl.config")-$(ksrc_id)"
}
