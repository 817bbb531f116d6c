#!/usr/bin/env bash
# Build the bundled numbavm Linux guest: a tinyconfig RV64IMAC kernel Image
# with a built-in initramfs holding our nolibc /init (init.c).
#
#   bash lifecycle/guests/linux/build.sh        # prints the Image path as its last stdout line
#
# The recipe (this script, numbavm.config, init.c, initramfs.list) lives in git;
# everything it produces goes to the cache, outside the tree:
#   $NUMBAVM_CACHE, else $XDG_CACHE_HOME/numbavm, else ~/.cache/numbavm
#     linux/src/<version>/   the unpacked linux-source-6.1 (shared by every key)
#     linux/<key>/Image      the result; <key> hashes the recipe files and the
#                            linux-source-6.1 package version
# An existing Image is reused at once. Progress goes to stderr, compiler output
# to linux/<key>/build.log; stdout carries only the Image path.
#
# Exit status: 0 built or cached, 1 a build step failed, 3 packages missing
# (and not root, so they cannot be installed here).
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SRC_PKG=linux-source-6.1
SRC_TAR=/usr/src/$SRC_PKG.tar.xz
CROSS=riscv64-linux-gnu-
RECIPE=(build.sh numbavm.config init.c initramfs.list)
# What a tinyconfig riscv Image needs: host gcc/libc/make for the build tools,
# bison+flex for kconfig, bc for kernel/time/timeconst.h, xz to unpack. No
# openssl (no module signing, no certs), no libelf (no objtool on riscv), no
# cpio (the kernel's own usr/gen_init_cpio writes the initramfs).
PACKAGES=("$SRC_PKG" gcc-riscv64-linux-gnu gcc libc6-dev make bc bison flex xz-utils)
# The content of /etc/hello.txt in the guest (the tests cat it).
HELLO_TEXT='Hello from the numbavm Linux guest.'
JOBS=${NUMBAVM_JOBS:-$(nproc 2>/dev/null || echo 2)}

say() { echo "[linux] $*" >&2; }

CACHE_ROOT=${NUMBAVM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/numbavm}
CACHE=$CACHE_ROOT/linux

src_version() { dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null || echo none; }

recipe_key() {
	local f
	{
		for f in "${RECIPE[@]}"; do
			printf '%s ' "$f"
			sha256sum <"$HERE/$f"
		done
		echo "$SRC_PKG $(src_version)"
	} | sha256sum | cut -c1-16
}

# --- the fast path: already built ------------------------------------------
KEY=$(recipe_key)
if [[ -f $CACHE/$KEY/Image ]]; then
	echo "$CACHE/$KEY/Image"
	exit 0
fi

# --- Debian packages ----------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	if [[ $(id -u) != 0 ]]; then
		echo "numbavm: install the packages first: sudo apt-get install -y ${missing[*]}" >&2
		exit 3
	fi
	say "installing Debian packages: ${missing[*]}"
	mkdir -p "$CACHE"
	apt_log=$CACHE/apt.log
	apt_install() {
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			"${missing[@]}" >>"$apt_log" 2>&1
	}
	if ! apt_install; then
		say "apt-get install failed; running apt-get update and retrying"
		if ! { apt-get update >>"$apt_log" 2>&1 && apt_install; }; then
			echo "numbavm: installing ${missing[*]} failed; log: $apt_log" >&2
			tail -n 30 "$apt_log" >&2
			exit 1
		fi
	fi
	KEY=$(recipe_key) # the linux-source version is part of the key
fi

# --- one build at a time (two test runs may start us together) ---------------
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
	say "waiting for another build.sh run to finish"
	flock 9
fi
if [[ -f $CACHE/$KEY/Image ]]; then
	echo "$CACHE/$KEY/Image"
	exit 0
fi

OUT=$CACHE/$KEY
BUILD=$OUT/build
LOG=$OUT/build.log
rm -rf "$OUT"
mkdir -p "$BUILD"
: >"$LOG"

# run STEP CMD...: run CMD with its output in the log; on failure show the tail.
run() {
	local step=$1 t0=$SECONDS
	shift
	echo "+ $*" >>"$LOG"
	if ! "$@" >>"$LOG" 2>&1; then
		echo "numbavm: linux build failed while $step; log: $LOG" >&2
		tail -n 30 "$LOG" >&2
		exit 1
	fi
	echo "# $step: $((SECONDS - t0)) s" >>"$LOG"
}

# --- the kernel source: unpacked once per package version --------------------
VERSION=$(src_version)
SRC=$CACHE/src/${VERSION//[^A-Za-z0-9.+-]/_}
if [[ ! -f $SRC/.unpacked ]]; then
	say "unpacking $SRC_PKG $VERSION"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	# The documentation is not needed, but for Documentation/Kconfig, which
	# Kconfig sources (other architectures' trees cannot go: crypto/Kconfig
	# and drivers/ras/Kconfig source their Kconfig files).
	run "unpacking $SRC_TAR" tar -xJf "$SRC_TAR" -C "$SRC.tmp" --strip-components=1 \
		--exclude="$SRC_PKG/Documentation/*/*"
	[[ -f $SRC.tmp/Makefile && -d $SRC.tmp/tools/include/nolibc ]] ||
		run "checking the unpacked source" false
	touch "$SRC.tmp/.unpacked"
	mv "$SRC.tmp" "$SRC"
	# Trees of older package versions are no longer used by any key.
	for old in "$CACHE"/src/*; do
		[[ $old == "$SRC" ]] || rm -rf "$old"
	done
fi

export ARCH=riscv CROSS_COMPILE=$CROSS
# A reproducible `uname -v`: no build date, user or host of this machine.
export KBUILD_BUILD_USER=numbavm KBUILD_BUILD_HOST=numbavm KBUILD_BUILD_VERSION=1
export KBUILD_BUILD_TIMESTAMP='Thu Jan 1 00:00:00 UTC 1970'
KMAKE=(make -C "$SRC" O="$BUILD")

# --- configuration: tinyconfig + our fragment, then checked ------------------
say "configuring (tinyconfig + lifecycle/guests/linux/numbavm.config)"
sed "s|@INITRAMFS_LIST@|$OUT/initramfs.list|" "$HERE/numbavm.config" >"$OUT/numbavm.config"
run "running make tinyconfig" "${KMAKE[@]}" tinyconfig
# -n: allnoconfig over tinyconfig + fragment, so symbols that neither names
# (drivers the fragment makes visible, say) stay off instead of taking defaults.
run "merging numbavm.config" \
	env -C "$SRC" scripts/kconfig/merge_config.sh -n -O "$BUILD" "$BUILD/.config" "$OUT/numbavm.config"
bad=()
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		grep -qxF -- "$line" "$BUILD/.config" ||
			bad+=("${BASH_REMATCH[1]}: wanted ${BASH_REMATCH[2]}, got $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$BUILD/.config" || echo 'nothing (not visible)')")
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		! grep -q "^${BASH_REMATCH[1]}=" "$BUILD/.config" ||
			bad+=("${BASH_REMATCH[1]}: wanted off, got $(grep "^${BASH_REMATCH[1]}=" "$BUILD/.config")")
	fi
done <"$OUT/numbavm.config"
if ((${#bad[@]})); then
	echo "numbavm: the kernel config did not take these numbavm.config values:" >&2
	printf '  %s\n' "${bad[@]}" >&2
	echo "(the config is $BUILD/.config; log: $LOG)" >&2
	exit 1
fi

# --- /init, built against nolibc and the kernel's UAPI headers ---------------
say "compiling init (nolibc)"
run "generating the kernel UAPI headers" "${KMAKE[@]}" headers
run "compiling init.c" "${CROSS}gcc" -march=rv64imac_zicsr_zifencei -mabi=lp64 \
	-static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie \
	-Os -Wall -Wextra -Wno-unused-parameter -s \
	-include "$SRC/tools/include/nolibc/nolibc.h" -I "$SRC/tools/include/nolibc" \
	-isystem "$BUILD/usr/include" -o "$OUT/init" "$HERE/init.c" -lgcc
printf '%s\n' "$HELLO_TEXT" >"$OUT/hello.txt"
# gen_init_cpio records file mtimes: pin them, so one key gives one Image.
touch -d @0 "$OUT/init" "$OUT/hello.txt"
sed -e "s|@INIT@|$OUT/init|" -e "s|@HELLO@|$OUT/hello.txt|" \
	"$HERE/initramfs.list" >"$OUT/initramfs.list"

# --- the kernel --------------------------------------------------------------
say "compiling the kernel (make -j$JOBS Image), about 2 min"
run "compiling the kernel" "${KMAKE[@]}" -j"$JOBS" Image

# Keep what helps debugging a guest (symbols, config), drop the objects.
cp "$BUILD/.config" "$OUT/config"
cp "$BUILD/System.map" "$BUILD/vmlinux" "$OUT/"
cp "$BUILD/arch/riscv/boot/Image" "$OUT/Image.tmp"
rm -rf "$BUILD"
mv "$OUT/Image.tmp" "$OUT/Image"
say "done in $SECONDS s: $OUT/Image"
echo "$OUT/Image"
