#!/usr/bin/env bash
# setup.sh — install every Debian package airlock needs to build, test and
# benchmark. Idempotent: packages already present are not touched, and the
# script says what it installs. Needs root (or sudo) only when something is
# missing.
set -euo pipefail

# One line per package, with the reason it is here.
PACKAGES=(
	build-essential     # gcc, make, libc headers
	pkg-config          # meson finds libraries through it
	meson               # build system
	ninja-build         # meson's backend
	clang               # fuzz targets (libFuzzer) and the sanitizer build
	libclang-rt-14-dev  # libFuzzer + ASan/UBSan runtimes for clang 14
	llvm                # llvm-symbolizer: readable sanitizer stack traces
	clang-format        # make format
	xenstore-utils      # xenstore-read/write/...: an independent store client in tests
	procps              # ps/pgrep in tests
	kmod                # depmod for the guest initramfs
	busybox-static      # udhcpd and friends in test namespaces
	# guests (issue 3 on): the engine, its firmware, images, networking
	qemu-system-x86     # the CPU engine (TCG here, KVM where it really works)
	qemu-utils          # qemu-img
	seabios             # firmware boot
	libjson-c-dev       # QMP
	liburing-dev        # airlock-dm: virtio-blk requests on io_uring
	libseccomp-dev      # airlock-relay's syscall allowlist (relay/relay_sandbox.c)
	passt               # user-mode networking without root
	iproute2            # bridges, taps, network namespaces in tests and the demo
	iperf3              # the network peer in tests and benchmarks
	gnuplot-nox         # the plots of bench/report.sh (make bench-report, make check)
	iputils-ping        # ping from the test namespace to guests
	openssh-client      # ssh into guests from the test namespace
	cpio                # initramfs archives
	mtools              # FAT partition of the bootable image, without loop mounts
	dosfstools          # mkfs.fat
	syslinux            # bootloader, installed through mtools
	syslinux-common     # its modules and MBR
	e2fsprogs           # mke2fs -d: ext4 images without loop mounts
	fdisk               # sfdisk: partition table of the bootable image
	zstd                # Debian's kernel modules are zstd-compressed
	# the stub-domain image (images/stubdom/build.sh): its kernel is built
	# from Debian's kernel source with tinyconfig + a fragment of ours
	linux-source-6.1    # /usr/src/linux-source-6.1.tar.xz: the stub domain's kernel
	xz-utils            # unpacks that tarball
	bc                  # the kernel build computes constants with it (timeconst)
	flex                # Kconfig's and dtc's lexers
	bison               # Kconfig's parser
	libelf-dev          # objtool (x86-64 kernels build it, CONFIG_OBJTOOL)
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#PACKAGES[@]} packages present"
	exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
