#!/usr/bin/env bash
# images/build.sh — build airlock's guest images from Debian packages.
#
# Usage: images/build.sh [--out DIR] [--force] [--print-dir] [--prune]
#
# Products (see docs/images.md): vmlinuz, vmlinux, initrd.img, rootfs.ext4, boot.img,
# id_ed25519{,.pub}, manifest.txt.
#
# Everything in the guest comes from Debian packages fetched with
# `apt-get download` (cached in $AIRLOCK_CACHE/debs) and unpacked with
# `dpkg-deb -x`; nothing is installed on the host. The result is cached in
# $AIRLOCK_CACHE/images/<key>/, key = sha256 over the files in images/, the
# exact versions of the guest packages and of the host tools that put bytes
# into the images (syslinux, e2fsprogs, ...). A build runs in a temporary
# directory next to the cache entry and is renamed into place only when
# complete, so an interrupted build never looks cached. On success DIR
# (default $TOP/out/images) becomes a symlink to the cache entry.
#
#   --out DIR    where the products appear (a symlink, replaced atomically)
#   --force      rebuild even if the cache has this key
#   --print-dir  print the cache entry's path on stdout (progress to stderr)
#   --prune      then delete every other image set (and stale memos) in the
#                cache; the .debs stay
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$IMAGES_DIR/.." && pwd)
CACHE=${AIRLOCK_CACHE:-$TOP/out/cache}
OUT_LINK=$TOP/out/images
FORCE=0
PRINT_DIR=0
PRUNE=0
LOCKED="" # set once this process holds $CACHE/images/.lock (fd 9)

# Guest userspace packages. Their shared libraries are found with the
# unpacked loader (ldd) and must all come from this list.
USER_PKGS=(busybox-static dropbear-bin iperf3 libiperf0 libssl3 libsctp1 libc6
	libcrypt1 libtomcrypt1 libtommath1 libgmp10 zlib1g)
KERNEL_META=linux-image-amd64
# Host packages whose files or behaviour end up in the images.
HOST_PKGS=(syslinux syslinux-common mtools dosfstools e2fsprogs fdisk kmod cpio gzip openssh-client
	gcc libc6-dev)
# Kernel modules the guest loads at boot, in order (dependencies are added
# from modules.dep). crc32c_generic: ext4's checksum (a soft dependency that
# modules.dep does not list; crc32c-intel needs SSE4.2, which TCG's default
# CPU lacks). evdev: busybox acpid reads the power button from
# /dev/input/event*. Built-in ones (af_packet here) are skipped.
GUEST_MODULES=(virtio_pci virtio_blk virtio_net virtio_rng crc32c_generic ext4
	af_packet evdev button pvpanic_mmio pvpanic_pci)
# Modules in the image (with their dependencies) that nothing loads at boot:
# a test modprobes them. vfio_pci (+ vfio_pci_core, vfio, vfio_virqfd,
# irqbypass) and vfio_iommu_type1, for vringprobe's userspace virtio driver
# (Debian's 6.1 kernel has them as modules, without CONFIG_VFIO_NOIOMMU: the
# guest needs an IOMMU, QEMU's intel-iommu).
GUEST_MODULES_ON_DEMAND=(vfio_pci vfio_iommu_type1)
# Parts of the kernel package's module tree to unpack (under
# lib/modules/VER/kernel/): all 4000 modules are 400 MiB to write and delete,
# these ~1200 hold the modules above and their dependencies. If one moves
# elsewhere the build stops (module not found, or a dependency missing from
# the image per modinfo), naming it.
KMOD_DIRS=(arch crypto lib fs/ext4 fs/jbd2 fs/mbcache.ko net/core net/packet
	drivers/virtio drivers/block drivers/char drivers/input drivers/acpi drivers/misc drivers/net
	drivers/vfio virt/lib)
KMOD_EXCLUDE=(drivers/net/wireless drivers/net/ethernet)
ROOTFS_MIB=256 # size of rootfs.ext4 and of boot.img's root partition
FAT_MIN_MIB=32 # boot.img's FAT partition (grown if the kernel+initrd need it)

T0=$EPOCHREALTIME
# step MSG: one progress line with the elapsed seconds.
step() {
	local now=$EPOCHREALTIME
	local ms=$(((${now/./} - ${T0/./}) / 1000))
	printf '[%4d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*" >&2
}
die() {
	echo "images/build.sh: error: $*" >&2
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
	--prune) PRUNE=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

mkdir -p "$CACHE/images" "$CACHE/debs"
# The ext4 images take their files' owners from the staging tree (mke2fs -d
# has no mapping), and dropbear accepts root's keys only if root owns them.
[ "$(id -u)" -eq 0 ] || NEED_ROOT=1
CACHE=$(cd "$CACHE" && pwd)

# ---------------------------------------------------------------------------
# Package resolution. `apt-cache` takes ~1 s here (no pkgcache.bin), too slow
# for a cache hit, so its answer is memoized under a stamp of apt's inputs
# (package lists, sources, preferences) and of dpkg's status (host tools).
# ---------------------------------------------------------------------------
resolve_stamp() {
	{
		printf '%s\n' "$KERNEL_META" "${USER_PKGS[@]}" "${HOST_PKGS[@]}"
		stat -c '%n %s %Y' /var/lib/apt/lists/* /var/lib/dpkg/status \
			/etc/apt/sources.list* /etc/apt/sources.list.d/* \
			/etc/apt/preferences* /etc/apt/preferences.d/* 2>/dev/null || true
	} | sha256sum | cut -c1-32
}

# resolve_versions: prints "guest PKG VERSION" and "host PKG VERSION" lines.
resolve_versions() {
	local kpkg
	kpkg=$(apt-cache depends "$KERNEL_META" 2>/dev/null |
		awk '/^ *Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$kpkg" ] || die "cannot resolve $KERNEL_META's kernel package (apt-get update?)"
	apt-cache policy "$KERNEL_META" "$kpkg" "${USER_PKGS[@]}" | awk '
		/^[^ ].*:$/ { pkg = substr($1, 1, length($1) - 1) }
		/^  Candidate:/ { print "guest", pkg, $2 }'
	dpkg-query -W -f '${Package} ${Version}\n' "${HOST_PKGS[@]}" | sed 's/^/host /'
	echo "kernel-package $kpkg"
}

STAMP=$(resolve_stamp)
MEMO=$CACHE/images/.resolved-$STAMP
if [ ! -s "$MEMO" ]; then
	step "resolving package versions (apt-cache)"
	resolve_versions >"$MEMO.tmp.$$"
	if awk '$1 == "guest" && ($3 == "" || $3 == "(none)") { bad = 1 } END { exit !bad }' "$MEMO.tmp.$$"; then
		rm -f "$MEMO.tmp.$$"
		die "a guest package has no candidate version (run apt-get update?)"
	fi
	mv -f "$MEMO.tmp.$$" "$MEMO"
fi
VERSIONS=$(cat "$MEMO")
KPKG=$(awk '$1 == "kernel-package" { print $2 }' <<<"$VERSIONS")

# The cache key: every file under images/ (path and content) + versions.
KEY=$({
	echo "airlock-images v1"
	(cd "$IMAGES_DIR" && find . -type f ! -name '*~' ! -name '.*.swp' -print0 | sort -z | xargs -0 sha256sum)
	echo "$VERSIONS"
} | sha256sum | cut -c1-24)
DEST=$CACHE/images/$KEY

# prune: removes the other image sets and memos (under the build lock, so
# no build of ours is writing one).
prune() {
	local d
	if [ -z "$LOCKED" ]; then
		exec 9>"$CACHE/images/.lock"
		flock 9
		LOCKED=1
	fi
	for d in "$CACHE"/images/* "$CACHE"/images/.resolved-*; do
		case "$d" in "$DEST" | "$MEMO") continue ;; esac
		[ -e "$d" ] || continue
		step "pruning $(basename "$d")"
		rm -rf "$d"
	done
}

# publish: point the --out symlink at the cache entry, atomically (rename).
publish() {
	mkdir -p "$(dirname "$OUT_LINK")"
	if [ -d "$OUT_LINK" ] && [ ! -L "$OUT_LINK" ]; then
		die "$OUT_LINK is a real directory; remove it or choose another --out"
	fi
	ln -sfn "$DEST" "$OUT_LINK.tmp.$$"
	mv -Tf "$OUT_LINK.tmp.$$" "$OUT_LINK"
	[ "$PRUNE" -eq 0 ] || prune
	[ "$PRINT_DIR" -eq 0 ] || echo "$DEST"
}

if [ "$FORCE" -eq 0 ] && [ -f "$DEST/manifest.txt" ]; then
	step "cache hit: $DEST"
	publish
	step "images ready in $OUT_LINK"
	exit 0
fi

# ---------------------------------------------------------------------------
# Cold build, serialized by a lock: a second build of the same key waits and
# then finds it cached.
# ---------------------------------------------------------------------------
exec 9>"$CACHE/images/.lock"
if ! flock -n 9; then
	step "another build holds $CACHE/images/.lock, waiting"
	flock 9
fi
LOCKED=1
if [ "$FORCE" -eq 0 ] && [ -f "$DEST/manifest.txt" ]; then
	step "cache hit (built meanwhile): $DEST"
	publish
	exit 0
fi
# Leftovers of killed builds (we hold the lock: none is running).
rm -rf "$CACHE"/images/.build.* "$CACHE"/debs/.dl.*

[ -z "${NEED_ROOT:-}" ] || die "building needs root (file owners in the ext4 images, /dev/console); a cached set needs none"
W=$(mktemp -d "$CACHE/images/.build.XXXXXX")
trap 'rm -rf "$W"' EXIT
step "building images, key $KEY (kernel package $KPKG)"

# --- download ---------------------------------------------------------------
# deb_file PKG VERSION: the cached .deb's path (apt-get download's naming:
# PKG_VERSION_ARCH.deb with the epoch's ':' written as %3a).
deb_file() {
	local f
	for f in "$CACHE/debs/${1}_${2//:/%3a}"_*.deb; do
		[ -f "$f" ] && echo "$f" && return 0
	done
	return 1
}

fetch_debs() {
	local want=() pkg ver dl
	while read -r _ pkg ver; do
		deb_file "$pkg" "$ver" >/dev/null || want+=("$pkg=$ver")
	done < <(awk '$1 == "guest"' <<<"$VERSIONS")
	if [ ${#want[@]} -eq 0 ]; then
		step "packages: all in $CACHE/debs"
		return
	fi
	step "downloading ${#want[@]} packages: ${want[*]}"
	# Download into a private directory, then move: a half-written .deb
	# never sits in the cache.
	dl=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
	# As root, apt would drop to _apt, which cannot write here.
	(cd "$dl" && apt-get -q -o APT::Sandbox::User=root download "${want[@]}" >/dev/null) ||
		die "apt-get download failed"
	mv -f "$dl"/*.deb "$CACHE/debs/"
	rmdir "$dl"
}
fetch_debs

# --- unpack -------------------------------------------------------------------
PK=$W/pkgs  # every userspace package, unpacked together
KR=$W/kernel # the kernel package
ST=$W/root  # the guest's root filesystem (initramfs and disk)
OUT=$W/out  # products
mkdir -p "$PK" "$KR" "$ST" "$OUT"

step "unpacking packages"
while read -r _ pkg ver; do
	f=$(deb_file "$pkg" "$ver") || die "$pkg $ver missing from $CACHE/debs"
	if [ "$pkg" = "$KPKG" ]; then
		# dpkg-deb -x, restricted to the kernel and KMOD_DIRS.
		pats=('./boot/vmlinuz-*' './lib/modules/*/modules.*')
		for d in "${KMOD_DIRS[@]}"; do pats+=("./lib/modules/*/kernel/$d"); done
		excl=()
		for d in "${KMOD_EXCLUDE[@]}"; do excl+=("--exclude=./lib/modules/*/kernel/$d"); done
		dpkg-deb --fsys-tarfile "$f" | tar -x -C "$KR" --wildcards "${excl[@]}" "${pats[@]}"
	elif [ "$pkg" != "$KERNEL_META" ]; then
		dpkg-deb -x "$f" "$PK"
	fi
done < <(awk '$1 == "guest"' <<<"$VERSIONS")
KVER=$(find "$KR/lib/modules" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | head -n 1)
[ -f "$KR/boot/vmlinuz-$KVER" ] || die "no vmlinuz-$KVER in $KPKG"

# --- userspace ----------------------------------------------------------------
# resolve_in ROOT PATH: follows symlinks of PATH inside ROOT (absolute link
# targets are ROOT-relative: the packages' links must not lead to the host).
resolve_in() {
	local root=$1 p=$2 t n=0
	while [ -L "$root$p" ]; do
		t=$(readlink "$root$p")
		case "$t" in /*) p=$t ;; *) p=$(dirname "$p")/$t ;; esac
		p=$(realpath -m -s "$p")
		n=$((n + 1))
		[ $n -lt 40 ] || die "symlink loop at $root$2"
	done
	echo "$p"
}

# copy_in PATH: copies PATH (absolute, guest-side) from the unpacked
# packages into the staging root, keeping symlinks and their targets.
copy_in() {
	local p=$1 t
	[ -e "$ST$p" ] || [ -L "$ST$p" ] && return 0
	mkdir -p "$ST$(dirname "$p")"
	if [ -L "$PK$p" ]; then
		cp -P "$PK$p" "$ST$p"
		t=$(readlink "$PK$p")
		case "$t" in /*) ;; *) t=$(dirname "$p")/$t ;; esac
		copy_in "$(realpath -m -s "$t")"
	elif [ -f "$PK$p" ]; then
		cp -p "$PK$p" "$ST$p"
	else
		die "$p is not in the unpacked packages"
	fi
}

# copy_elf PATH: copies a dynamically linked program and every library the
# unpacked loader resolves for it ("ldd"), and the loader itself.
copy_elf() {
	local bin=$1 interp loader line lib
	copy_in "$bin"
	interp=$(readelf -l "$PK$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
	[ -n "$interp" ] || return 0 # static
	copy_in "$interp"
	loader=$PK$(resolve_in "$PK" "$interp")
	# --library-path only prepends: a library missing from the packages
	# would silently resolve to the host's copy, so check where each lands.
	while read -r line; do
		case "$line" in
		*"not found"*) die "$bin: $line" ;;
		*" => "*)
			lib=${line#* => }
			lib=${lib% (0x*}
			case "$lib" in
			"$PK"/*) copy_in "${lib#"$PK"}" ;;
			*) die "$bin: library $lib is not from the guest packages (add its package to USER_PKGS)" ;;
			esac
			;;
		esac
	done < <("$loader" --library-path "$PK/lib/x86_64-linux-gnu:$PK/usr/lib/x86_64-linux-gnu" --list "$PK$bin")
}

step "staging the root filesystem"
for d in bin sbin usr/bin usr/sbin lib lib64 etc proc sys dev run tmp root var/log mnt newroot; do
	mkdir -p "$ST/$d"
done
chmod 1777 "$ST/tmp"
chmod 700 "$ST/root"
ln -s ../run "$ST/var/run"
# busybox and a symlink per applet (its own --list-full, e.g. sbin/init).
copy_in /bin/busybox
while read -r a; do
	case "$a" in bin/busybox | linuxrc) continue ;; esac
	mkdir -p "$ST/$(dirname "$a")"
	[ -e "$ST/$a" ] || ln -s /bin/busybox "$ST/$a"
done < <("$PK/bin/busybox" --list-full)
for b in /usr/sbin/dropbear /usr/bin/dropbearkey /usr/bin/iperf3; do
	copy_elf "$b"
done
# Our own in-guest tools, built statically from images/tools/ (ioprobe: the
# benchmarks' disk figures; busybox dd cannot do random reads).
mkdir -p "$ST/usr/bin"
# vringprobe: a userspace virtio-blk driver through VFIO that feeds the
# device hostile virtqueues (tests/blackbox/dm_vfio.sh).
for t in ioprobe vringprobe; do
	gcc -O2 -static -Wall -Wextra -Werror -o "$ST/usr/bin/$t" "$IMAGES_DIR/tools/$t.c" ||
		die "cannot build images/tools/$t.c"
done
# ld.so.cache so the loader does not depend on built-in search paths.
ldconfig -r "$ST" 2>/dev/null || true

# Our files: /init, inittab, rc, shutdown, acpi handler, passwd, ...
cp -a "$IMAGES_DIR/overlay/." "$ST/"
chmod 755 "$ST/init" "$ST/etc/airlock/rc" "$ST/etc/airlock/shutdown" \
	"$ST/etc/airlock/udhcpc.script" "$ST/etc/acpi/PWRF/00000080"
chmod 600 "$ST/etc/shadow"
echo "airlock guest image $KEY" >"$ST/etc/airlock/version"
# /dev/console in the initramfs, for the kernel to open before /init runs
# (the kernel's built-in initramfs has one too; this does not rely on it).
mknod -m 600 "$ST/dev/console" c 5 1

# Test ssh key pair; its public half is root's only authorized key.
step "generating the test ssh key pair"
ssh-keygen -q -t ed25519 -N '' -C "airlock-test@$KEY" -f "$OUT/id_ed25519"
mkdir -p "$ST/root/.ssh"
chmod 700 "$ST/root/.ssh"
install -m 600 "$OUT/id_ed25519.pub" "$ST/root/.ssh/authorized_keys"

# --- kernel modules -------------------------------------------------------------
step "kernel $KVER: resolving modules with modules.dep"
MODDIR=lib/modules/$KVER
depmod -b "$KR" "$KVER"
declare -A MODPATH=()   # module name -> path relative to $MODDIR
declare -A MODDEPS=()   # module name -> its (transitive) dependencies' paths
# modname PATH: kernel/fs/ext4/ext4.ko[.xz] -> ext4 (in $REPLY: no forks,
# this runs for each of the kernel's ~4000 modules).
modname() {
	REPLY=${1##*/}
	REPLY=${REPLY%%.ko*}
	REPLY=${REPLY//-/_}
}
while IFS= read -r line; do
	modname "${line%%:*}"
	MODPATH[$REPLY]=${line%%:*}
	MODDEPS[$REPLY]=${line#*:}
done <"$KR/$MODDIR/modules.dep"
declare -A BUILTIN=()
while IFS= read -r path; do
	modname "$path"
	BUILTIN[$REPLY]=1
done <"$KR/$MODDIR/modules.builtin"

mkdir -p "$ST/$MODDIR"
: >"$ST/etc/airlock/modules"
declare -A COPIED=()
builtins=()
for m in "${GUEST_MODULES[@]}" - "${GUEST_MODULES_ON_DEMAND[@]}"; do
	# Those after "-" are copied but not loaded at boot.
	[ "$m" != - ] || { ondemand=1; continue; }
	m=${m//-/_}
	if [ -n "${BUILTIN[$m]:-}" ]; then
		builtins+=("$m")
		continue
	fi
	[ -n "${MODPATH[$m]:-}" ] || die "module $m is in neither modules.dep nor modules.builtin of $KVER (outside KMOD_DIRS?)"
	[ -n "${ondemand:-}" ] || echo "$m" >>"$ST/etc/airlock/modules"
	for p in ${MODDEPS[$m]} "${MODPATH[$m]}"; do
		[ -z "${COPIED[$p]:-}" ] || continue
		COPIED[$p]=1
		# busybox modprobe/insmod load plain .ko files: decompress.
		dst=$ST/$MODDIR/${p%.ko*}.ko
		mkdir -p "$(dirname "$dst")"
		case "$p" in
		*.ko) cp "$KR/$MODDIR/$p" "$dst" ;;
		*.ko.xz) xz -dc "$KR/$MODDIR/$p" >"$dst" ;;
		*.ko.zst) zstd -qdc "$KR/$MODDIR/$p" >"$dst" ;;
		*.ko.gz) gzip -dc "$KR/$MODDIR/$p" >"$dst" ;;
		*) die "unknown module format: $p" ;;
		esac
	done
done
# modules.builtin: modprobe of a built-in module is then a quiet no-op.
# modules.order: only our modules' lines. modules.builtin.modinfo (0.4 MiB,
# only for depmod's alias index) is left empty.
cp "$KR/$MODDIR/modules.builtin" "$ST/$MODDIR/"
grep -Fx -f <(printf '%s\n' "${!COPIED[@]}") "$KR/$MODDIR/modules.order" >"$ST/$MODDIR/modules.order" || true
: >"$ST/$MODDIR/modules.builtin.modinfo"
depmod -b "$ST" "$KVER"
# Cross-check modules.dep against each module's own "depends=" (modpost's
# record; Debian ships no real System.map for depmod -e): every dependency
# must be among the copied modules.
declare -A HAVE=()
while IFS= read -r f; do modname "$f"; HAVE[$REPLY]=1; done < <(find "$ST/$MODDIR" -name '*.ko')
while IFS= read -r f; do
	for d in $(modinfo -F depends "$f" | tr ',' ' '); do
		[ -n "${HAVE[${d//-/_}]:-}" ] || die "$(basename "$f") depends on $d, which is not in the image (outside KMOD_DIRS?)"
	done
done < <(find "$ST/$MODDIR" -name '*.ko')
step "modules: ${#COPIED[@]} files ($(du -sh "$ST/lib/modules" | cut -f1)); built in: ${builtins[*]:-none}"

# --- products -------------------------------------------------------------------
cp "$KR/boot/vmlinuz-$KVER" "$OUT/vmlinuz"

# vmlinux: the same kernel, decompressed from vmlinuz's payload. An ELF with
# a PVH entry note, so `qemu -kernel vmlinux` starts it without the bzImage
# decompressor, which is several seconds of a TCG boot (xz in an emulated
# CPU). Optional: skipped with a note if the payload format is unknown.
extract_vmlinux() {
	local magic cmd off
	for magic in '\xfd7zXZ\x00:xz -dc --single-stream' '\x28\xb5\x2f\xfd:zstd -dcq' '\x1f\x8b\x08:gzip -dcq'; do
		cmd=${magic#*:}
		off=$(LC_ALL=C grep -obUaP "${magic%%:*}" "$1" | head -n 1 | cut -d: -f1) || true
		[ -n "$off" ] || continue
		tail -c +$((off + 1)) "$1" | $cmd >"$2" 2>/dev/null || true
		if [ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] &&
			readelf -n "$2" 2>/dev/null | grep -q 'Xen'; then
			return 0
		fi
	done
	rm -f "$2"
	return 1
}
step "vmlinux (PVH entry, for fast direct boots)"
extract_vmlinux "$OUT/vmlinuz" "$OUT/vmlinux" || step "note: no vmlinux (kernel payload not recognised)"

step "initrd.img (cpio newc, gzip)"
(cd "$ST" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
	gzip -9 -n >"$OUT/initrd.img"

# mkext4 FILE: a sparse ext4 image of the staging tree, without loop mounts.
# Inode tables and journal are written now (not lazily by the guest's
# ext4lazyinit thread, which would cost TCG time at every first boot).
mkext4() {
	rm -f "$1"
	truncate -s "${ROOTFS_MIB}M" "$1"
	mke2fs -q -F -t ext4 -d "$ST" -L airlock-root -m 0 \
		-E lazy_itable_init=0,lazy_journal_init=0 "$1"
}
step "rootfs.ext4 (${ROOTFS_MIB} MiB, mke2fs -d)"
mkext4 "$OUT/rootfs.ext4"

# boot.img: MBR (syslinux mbr.bin), p1 FAT with syslinux + kernel + initrd
# (active), p2 ext4 root. Every part is built as a file and dd'd in place.
step "boot.img (syslinux on FAT + ext4 root)"
kib() { du -k --apparent-size "$1" | cut -f1; }
fat_mib=$(((($(kib "$OUT/vmlinuz") + $(kib "$OUT/initrd.img")) * 5 / 4 + 2047) / 1024 + 1))
[ "$fat_mib" -ge "$FAT_MIN_MIB" ] || fat_mib=$FAT_MIN_MIB
P1_START=2048                               # sectors (1 MiB)
P1_SIZE=$((fat_mib * 2048))
P2_START=$((P1_START + P1_SIZE))
P2_SIZE=$((ROOTFS_MIB * 2048))
FAT=$W/fat.img
truncate -s "${fat_mib}M" "$FAT"
# -h: hidden sectors = the partition's start, for syslinux's boot sector.
mkfs.fat -F 16 -n AIRLOCKBOOT -h "$P1_START" "$FAT" >/dev/null
cat >"$W/syslinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT airlock
PROMPT 0
TIMEOUT 0
LABEL airlock
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND root=/dev/vda2 console=ttyS0 quiet
EOF
MTOOLS_SKIP_CHECK=1 mcopy -i "$FAT" "$OUT/vmlinuz" "$OUT/initrd.img" "$W/syslinux.cfg" ::/
syslinux --install "$FAT"
mkext4 "$W/root2.ext4"
IMG=$OUT/boot.img
rm -f "$IMG"
truncate -s $(((P2_START + P2_SIZE) * 512)) "$IMG"
sfdisk -q "$IMG" <<EOF
label: dos
start=$P1_START, size=$P1_SIZE, type=e, bootable
start=$P2_START, size=$P2_SIZE, type=83
EOF
dd if="$FAT" of="$IMG" bs=512 seek="$P1_START" conv=notrunc,sparse status=none
dd if="$W/root2.ext4" of="$IMG" bs=512 seek="$P2_START" conv=notrunc,sparse status=none
# Boot code only: bytes 440.. hold the disk id and the partition table.
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$IMG" bs=440 count=1 conv=notrunc status=none

step "removing the unpacked packages"
rm -rf "$KR" "$PK"

# --- manifest, move into place ---------------------------------------------------
step "manifest"
{
	echo "# airlock guest images"
	echo "key: $KEY"
	echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel: $KVER ($KPKG)"
	echo "modules loaded at boot: $(tr '\n' ' ' <"$ST/etc/airlock/modules")"
	echo "modules built in: ${builtins[*]:-none}"
	echo "modules for modprobe (not loaded at boot): ${GUEST_MODULES_ON_DEMAND[*]}"
	echo "boot.img: p1 FAT16 ${fat_mib} MiB at sector $P1_START (syslinux), p2 ext4 ${ROOTFS_MIB} MiB at sector $P2_START"
	echo
	echo "# guest packages (version, .deb)"
	while read -r _ pkg ver; do
		printf '%-28s %-28s %s\n' "$pkg" "$ver" "$(basename "$(deb_file "$pkg" "$ver")")"
	done < <(awk '$1 == "guest"' <<<"$VERSIONS")
	echo
	echo "# host tools"
	awk '$1 == "host" { printf "%-28s %s\n", $2, $3 }' <<<"$VERSIONS"
	echo
	echo "# products (apparent size, allocated)"
	for f in vmlinuz vmlinux initrd.img rootfs.ext4 boot.img; do
		[ -f "$OUT/$f" ] || continue
		printf '%-12s %10s %8s\n' "$f" "$(du -b --apparent-size "$OUT/$f" | cut -f1)" "$(du -h "$OUT/$f" | cut -f1)"
	done
} >"$OUT/manifest.txt"
chmod 644 "$OUT"/vmlinu[zx] "$OUT"/initrd.img "$OUT"/rootfs.ext4 "$OUT"/boot.img "$OUT"/manifest.txt
chmod 755 "$OUT"

rm -rf "$DEST" # only with --force (or a broken entry without manifest)
mv -T "$OUT" "$DEST"
publish
step "done: $DEST"
sed -n '/^# products/,$p' "$DEST/manifest.txt" | tail -n +2 >&2
