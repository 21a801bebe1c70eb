# images/stubdom/kernel.sh — the stub domain's kernel recipe, sourced by
# images/stubdom/build.sh (not run on its own). Kept apart from build.sh so
# that the kernel's cache key covers exactly what goes into the kernel: this
# file, kernel.config, the linux-source-6.1 version and the toolchain's;
# changing the initramfs side never rebuilds the kernel.
#
# build_kernel WORKDIR OUTDIR: unpacks Debian's linux-source-6.1 tarball in
# WORKDIR, makes tinyconfig + kernel.config, checks every fragment line
# landed, builds vmlinux, and leaves in OUTDIR: vmlinux, config (the final
# .config), gen_init_cpio (the kernel's own cpio writer, used for the
# initramfs: device nodes and root-owned files without root), build-seconds.

KSRC_TARBALL=/usr/src/linux-source-6.1.tar.xz

# check_fragment FRAGMENT CONFIG: every "CONFIG_X=v" line of FRAGMENT must
# be in CONFIG as written; every "# CONFIG_X is not set" must not be set
# (absent, or "is not set"). Prints the ones that are not.
check_fragment() {
	local frag=$1 cfg=$2 line opt bad=()
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF -- "$line" "$cfg" ||
				bad+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$cfg" || echo absent))")
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			if grep -qE "^$opt=" "$cfg"; then bad+=("$line (got: $(grep -E "^$opt=" "$cfg"))"); fi
			;;
		esac
	done <"$frag"
	[ ${#bad[@]} -eq 0 ] && return 0
	printf '  %s\n' "${bad[@]}"
	return 1
}

build_kernel() {
	local work=$1 out=$2 src t0 jobs pid n last=0 bad
	t0=$SECONDS
	[ -f "$KSRC_TARBALL" ] || die "$KSRC_TARBALL missing: apt-get install linux-source-6.1 (scripts/setup.sh)"
	# All of it: Kconfig reads files all over the tree (Documentation/Kconfig,
	# every architecture's crypto/Kconfig).
	step "kernel: unpacking $(basename "$KSRC_TARBALL")"
	tar -xJf "$KSRC_TARBALL" -C "$work"
	src=$work/linux-source-6.1
	[ -f "$src/Makefile" ] || die "unexpected layout in $KSRC_TARBALL (no linux-source-6.1/Makefile)"
	step "kernel: tinyconfig + images/stubdom/kernel.config"
	make -s -C "$src" CC=gcc tinyconfig >"$work/config.log" 2>&1 || {
		cat "$work/config.log" >&2
		die "make tinyconfig failed"
	}
	(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$SD_DIR/kernel.config") >>"$work/config.log" 2>&1 ||
		{ cat "$work/config.log" >&2; die "merge_config.sh failed"; }
	make -s -C "$src" CC=gcc olddefconfig >>"$work/config.log" 2>&1 ||
		{ cat "$work/config.log" >&2; die "make olddefconfig failed"; }
	if ! bad=$(check_fragment "$SD_DIR/kernel.config" "$src/.config"); then
		echo "$bad" >&2
		die "kernel.config: the options above did not end up as asked (missing dependencies?)"
	fi
	jobs=$(nproc)
	step "kernel: make -j$jobs vmlinux (a few minutes on 2 cores; log in $work/make.log)"
	make -C "$src" CC=gcc -j"$jobs" vmlinux >"$work/make.log" 2>&1 &
	pid=$!
	# A progress line every 30 s: how many objects are done.
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		if [ $((SECONDS - last)) -ge 30 ]; then
			last=$SECONDS
			n=$(grep -c '^  CC ' "$work/make.log" || true)
			step "kernel: $n files compiled"
		fi
	done
	if ! wait "$pid"; then
		tail -n 30 "$work/make.log" >&2
		die "kernel build failed (make vmlinux)"
	fi
	# The PVH entry note QEMU needs to boot the ELF directly.
	readelf -n "$src/vmlinux" | grep -q 'Xen.*0x00000012' ||
		die "vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): is CONFIG_PVH set?"
	gcc -O2 -o "$out/gen_init_cpio" "$src/usr/gen_init_cpio.c" ||
		die "cannot build the kernel's usr/gen_init_cpio.c"
	cp "$src/vmlinux" "$out/vmlinux"
	cp "$src/.config" "$out/config"
	echo $((SECONDS - t0)) >"$out/build-seconds"
	step "kernel: built in $((SECONDS - t0)) s, vmlinux $(du -b "$out/vmlinux" | cut -f1) bytes"
}
