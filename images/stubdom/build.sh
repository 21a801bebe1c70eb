#!/usr/bin/env bash
# images/stubdom/build.sh — build the stub-domain image: the tiny Linux VM
# in which airlock-dm runs (docs/stubdom.md).
#
# Usage: images/stubdom/build.sh [--out DIR] [--force] [--print-dir]
#
# Products: vmlinux (ELF with a PVH entry: QEMU -machine pc -kernel boots
# it without a BIOS), initramfs.cpio.gz, config (the kernel's final
# .config), manifest.txt (versions, sizes, hashes).
#
# The kernel is Debian's linux-source-6.1 (tinyconfig + kernel.config),
# the initramfs holds Debian's busybox-static (apt-get download, dpkg-deb
# -x), static builds of airlock-dm and the airlock CLI (meson, in
# $AIRLOCK_STATIC_BUILD, default build-static), and /init. The result is
# cached in $AIRLOCK_CACHE/stubdom/<key>/ (default out/cache), key = sha256
# over the files in images/stubdom/, the linux-source-6.1, busybox-static,
# cpio and gzip versions, the compiler's and binutils' versions and the
# content of the two static binaries. The kernel alone is cached in
# stubdom/kernel-<kkey>/ (kkey: kernel.config, kernel.sh, linux-source-6.1,
# compiler, binutils), so a change to airlock-dm or the init rebuilds only
# the initramfs (seconds), not the kernel (minutes). Builds run in
# temporary directories renamed into place when complete, under a lock
# (stubdom/.lock); on success DIR (default out/stubdom) becomes a symlink
# to the cache entry.
#
#   --out DIR    where the products appear (a symlink, replaced atomically)
#   --force      rebuild the initramfs and the kernel even on a cache hit
#   --print-dir  print the cache entry's path on stdout (progress to stderr)
set -euo pipefail

SD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$SD_DIR/../.." && pwd)
CACHE=${AIRLOCK_CACHE:-$TOP/out/cache}
STATIC_BUILD=${AIRLOCK_STATIC_BUILD:-$TOP/build-static}
OUT_LINK=$TOP/out/stubdom
FORCE=0
PRINT_DIR=0
BUSYBOX_PKG=busybox-static
KSRC_PKG=linux-source-6.1

T0=$EPOCHREALTIME
# step MSG: one progress line with the elapsed seconds.
step() {
	local now=$EPOCHREALTIME
	local ms=$(((${now/./} - ${T0/./}) / 1000))
	printf '[%4d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*" >&2
}
die() {
	echo "images/stubdom/build.sh: error: $*" >&2
	exit 1
}
usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT_LINK=${2:?--out needs a directory}; shift 2 ;;
	--out=*) OUT_LINK=${1#--out=}; shift ;;
	--force) FORCE=1; shift ;;
	--print-dir) PRINT_DIR=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

# shellcheck source=images/stubdom/kernel.sh
. "$SD_DIR/kernel.sh"

mkdir -p "$CACHE/stubdom" "$CACHE/debs"
CACHE=$(cd "$CACHE" && pwd)

# Everything below runs under the lock: two builds never share the static
# build directory, the kernel build or a cache entry; a second build of the
# same key waits, then finds it cached.
exec 9>"$CACHE/stubdom/.lock"
if ! flock -n 9; then
	step "another build holds $CACHE/stubdom/.lock, waiting"
	flock 9
fi

# --- static airlock-dm and airlock ---------------------------------------------
# A meson build of the tree of our own, linked with -static (libc, liburing,
# json-c from Debian's .a files). Incremental: a no-op when nothing changed.
if [ ! -f "$STATIC_BUILD/build.ninja" ]; then
	step "meson setup $STATIC_BUILD (static, release)"
	rm -rf "$STATIC_BUILD"
	CC=gcc meson setup "$STATIC_BUILD" "$TOP" -Dbuildtype=release -Dprefer_static=true \
		-Dc_link_args=-static >"$CACHE/stubdom/.meson-setup.log" 2>&1 ||
		{ cat "$CACHE/stubdom/.meson-setup.log" >&2; die "meson setup $STATIC_BUILD failed"; }
fi
ninja -C "$STATIC_BUILD" dm/airlock-dm cli/airlock >"$CACHE/stubdom/.ninja.log" 2>&1 ||
	{ tail -n 30 "$CACHE/stubdom/.ninja.log" >&2; die "building the static airlock-dm/airlock failed"; }
DM_BIN=$STATIC_BUILD/dm/airlock-dm
CLI_BIN=$STATIC_BUILD/cli/airlock
for b in "$DM_BIN" "$CLI_BIN"; do
	# Static: no program interpreter, no dynamic section.
	if readelf -l "$b" | grep -q 'Requesting program interpreter'; then
		die "$b is not statically linked"
	fi
done
step "static binaries ready: airlock-dm $(du -b "$DM_BIN" | cut -f1) bytes, airlock $(du -b "$CLI_BIN" | cut -f1) bytes"

# --- versions and keys ------------------------------------------------------------
pkg_installed() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null; }
KSRC_VER=$(pkg_installed "$KSRC_PKG") || true
[ -n "$KSRC_VER" ] || die "$KSRC_PKG is not installed (scripts/setup.sh)"
# busybox-static: the candidate apt would download (pinned in the key).
# apt-cache takes ~1 s here; memoized under a stamp of apt's inputs.
APT_STAMP=$({
	echo "$BUSYBOX_PKG"
	stat -c '%n %s %Y' /var/lib/apt/lists/* /etc/apt/sources.list* /etc/apt/sources.list.d/* \
		/etc/apt/preferences* /etc/apt/preferences.d/* 2>/dev/null || true
} | sha256sum | cut -c1-32)
MEMO=$CACHE/stubdom/.busybox-$APT_STAMP
if [ ! -s "$MEMO" ]; then
	step "resolving the $BUSYBOX_PKG version (apt-cache)"
	apt-cache policy "$BUSYBOX_PKG" | awk '/^  Candidate:/ { print $2 }' >"$MEMO.tmp.$$"
	case "$(cat "$MEMO.tmp.$$")" in '' | '(none)') rm -f "$MEMO.tmp.$$"; die "$BUSYBOX_PKG has no candidate version (apt-get update?)" ;; esac
	mv -f "$MEMO.tmp.$$" "$MEMO"
fi
BB_VER=$(cat "$MEMO")
CC_VER=$(gcc --version | head -n 1)
LD_VER=$(ld --version | head -n 1)
TOOLS_VER="cpio $(pkg_installed cpio); gzip $(pkg_installed gzip)"

KKEY=$({
	echo "airlock-stubdom-kernel v1"
	(cd "$SD_DIR" && sha256sum kernel.config kernel.sh)
	echo "$KSRC_PKG $KSRC_VER"
	echo "$CC_VER"
	echo "$LD_VER"
} | sha256sum | cut -c1-24)
KEY=$({
	echo "airlock-stubdom v1"
	(cd "$SD_DIR" && find . -type f ! -name '*~' ! -name '.*.swp' -print0 | sort -z | xargs -0 sha256sum)
	echo "$KSRC_PKG $KSRC_VER"
	echo "$BUSYBOX_PKG $BB_VER"
	echo "$CC_VER"
	echo "$LD_VER"
	echo "$TOOLS_VER"
	sha256sum <"$DM_BIN"
	sha256sum <"$CLI_BIN"
} | sha256sum | cut -c1-24)
DEST=$CACHE/stubdom/$KEY
KDEST=$CACHE/stubdom/kernel-$KKEY

# publish: point the --out symlink at the cache entry, atomically (rename).
publish() {
	mkdir -p "$(dirname "$OUT_LINK")"
	if [ -d "$OUT_LINK" ] && [ ! -L "$OUT_LINK" ]; then
		die "$OUT_LINK is a real directory; remove it or choose another --out"
	fi
	ln -sfn "$DEST" "$OUT_LINK.tmp.$$"
	mv -Tf "$OUT_LINK.tmp.$$" "$OUT_LINK"
	[ "$PRINT_DIR" -eq 0 ] || echo "$DEST"
}

if [ "$FORCE" -eq 0 ] && [ -f "$DEST/manifest.txt" ]; then
	step "cache hit: $DEST"
	publish
	step "stub-domain image ready in $OUT_LINK"
	exit 0
fi

# Leftovers of killed builds (we hold the lock: none is running).
rm -rf "$CACHE"/stubdom/.build.* "$CACHE"/stubdom/.kbuild.* "$CACHE"/debs/.dl.*
W=$(mktemp -d "$CACHE/stubdom/.build.XXXXXX")
KW=""
trap 'rm -rf "$W" ${KW:+"$KW"}' EXIT
step "building the stub-domain image, key $KEY (kernel key $KKEY)"

# --- kernel (its own cache entry) --------------------------------------------------
if [ "$FORCE" -eq 1 ] || [ ! -f "$KDEST/build-seconds" ]; then
	KW=$(mktemp -d "$CACHE/stubdom/.kbuild.XXXXXX")
	mkdir -p "$KW/out"
	build_kernel "$KW" "$KW/out"
	rm -rf "$KDEST"
	mv -T "$KW/out" "$KDEST"
	step "kernel: removing the build tree"
	rm -rf "$KW"
	KW=""
else
	step "kernel: cached ($KDEST, built in $(cat "$KDEST/build-seconds") s)"
fi

# --- busybox-static ------------------------------------------------------------------
BB_DEB=""
for f in "$CACHE/debs/${BUSYBOX_PKG}_${BB_VER//:/%3a}"_*.deb; do [ -f "$f" ] && BB_DEB=$f; done
if [ -z "$BB_DEB" ]; then
	step "downloading $BUSYBOX_PKG=$BB_VER"
	dl=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
	# As root, apt would drop to _apt, which cannot write here.
	(cd "$dl" && apt-get -q -o APT::Sandbox::User=root download "$BUSYBOX_PKG=$BB_VER" >/dev/null) ||
		die "apt-get download $BUSYBOX_PKG=$BB_VER failed"
	mv -f "$dl"/*.deb "$CACHE/debs/"
	rmdir "$dl"
	for f in "$CACHE/debs/${BUSYBOX_PKG}_${BB_VER//:/%3a}"_*.deb; do [ -f "$f" ] && BB_DEB=$f; done
	[ -n "$BB_DEB" ] || die "apt-get download left no $BUSYBOX_PKG .deb"
fi
step "unpacking $(basename "$BB_DEB")"
dpkg-deb -x "$BB_DEB" "$W/bb"
BB=$W/bb/bin/busybox
[ -x "$BB" ] || die "no bin/busybox in $BB_DEB"
readelf -l "$BB" | grep -q 'Requesting program interpreter' && die "$BB_DEB's busybox is not static"

# --- initramfs ----------------------------------------------------------------------
# Described as a gen_init_cpio list: every entry root-owned with an explicit
# mode, /dev/console a real device node, no root needed, the same bytes for
# the same inputs (fixed timestamp).
step "initramfs: busybox, airlock-dm, airlock, /init"
mkdir -p "$W/files"
strip -o "$W/files/airlock-dm" "$DM_BIN"
strip -o "$W/files/airlock" "$CLI_BIN"
cp "$BB" "$SD_DIR/init" "$SD_DIR/passwd" "$SD_DIR/group" "$W/files/"
# gen_init_cpio takes a file's mtime from the file (-t covers the rest).
touch -d @1 "$W/files"/*
LIST=$W/initramfs.list
{
	for d in /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /run /etc /root; do
		echo "dir $d 0755 0 0"
	done
	echo "dir /tmp 1777 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	echo "file /bin/busybox $W/files/busybox 0755 0 0"
	"$BB" --list-full | while read -r a; do
		case "$a" in bin/busybox | linuxrc) continue ;; esac
		echo "slink /$a /bin/busybox 0777 0 0"
	done
	echo "file /usr/bin/airlock-dm $W/files/airlock-dm 0755 0 0"
	echo "file /usr/bin/airlock $W/files/airlock 0755 0 0"
	echo "file /init $W/files/init 0755 0 0"
	echo "file /etc/passwd $W/files/passwd 0644 0 0"
	echo "file /etc/group $W/files/group 0644 0 0"
} >"$LIST"
mkdir -p "$W/out"
"$KDEST/gen_init_cpio" -t 1 "$LIST" >"$W/initramfs.cpio" || die "gen_init_cpio failed"
gzip -9 -n <"$W/initramfs.cpio" >"$W/out/initramfs.cpio.gz"

# --- products, manifest, move into place ----------------------------------------------
step "manifest"
# The kernel: a hard link to the kernel cache entry (same filesystem), else a copy.
ln "$KDEST/vmlinux" "$W/out/vmlinux" 2>/dev/null || cp "$KDEST/vmlinux" "$W/out/vmlinux"
cp "$KDEST/config" "$W/out/config"
size() { du -b --apparent-size "$1" | cut -f1; }
{
	echo "# airlock stub-domain image"
	echo "key: $KEY"
	echo "kernel key: $KKEY"
	echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel: $(sed -n 's/^# Linux\/x86 \([^ ]*\) Kernel Configuration/\1/p' "$KDEST/config") from $KSRC_PKG $KSRC_VER (tinyconfig + kernel.config)"
	echo "kernel build: $(cat "$KDEST/build-seconds") s on $(nproc) CPUs"
	echo "kernel config sha256: $(sha256sum <"$KDEST/config" | cut -d' ' -f1)"
	echo "fragment sha256: $(sha256sum <"$SD_DIR/kernel.config" | cut -d' ' -f1)"
	echo "compiler: $CC_VER"
	echo "binutils: $LD_VER"
	echo "$BUSYBOX_PKG: $BB_VER ($(basename "$BB_DEB"))"
	echo "tools: $TOOLS_VER"
	echo "airlock-dm: sha256 $(sha256sum <"$DM_BIN" | cut -d' ' -f1), $(size "$DM_BIN") bytes ($(size "$W/files/airlock-dm") stripped)"
	echo "airlock: sha256 $(sha256sum <"$CLI_BIN" | cut -d' ' -f1), $(size "$CLI_BIN") bytes ($(size "$W/files/airlock") stripped)"
	echo
	echo "# products (bytes)"
	printf '%-22s %10s\n' vmlinux "$(size "$W/out/vmlinux")"
	printf '%-22s %10s\n' initramfs.cpio.gz "$(size "$W/out/initramfs.cpio.gz")"
	printf '%-22s %10s\n' "initramfs (unpacked)" "$(size "$W/initramfs.cpio")"
} >"$W/out/manifest.txt"
chmod 644 "$W/out/initramfs.cpio.gz" "$W/out/config" "$W/out/manifest.txt"
chmod 755 "$W/out"

rm -rf "$DEST" # only with --force (or a broken entry without manifest)
mv -T "$W/out" "$DEST"
publish
step "done: $DEST"
sed -n '/^# products/,$p' "$DEST/manifest.txt" | tail -n +2 >&2
