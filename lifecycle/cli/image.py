"""numbavm image debian [--release trixie] [--packages a,b,c] [--size 2G] [--rebuild]

Builds (once; cached) a Debian riscv64 system from Debian's own packages: the kernel, an
initramfs and an ext4 root disk (lifecycle/guests/debian/image.py, docs/linux.md "A Debian
image").  Progress lines go to stderr; stdout gets the image's directory, then its kernel,
initramfs, disk and manifest, one path a line.

Exit status: 0 built (or already there); 1 a step failed (no network to the archive, an
unknown release or package, a full disk, the first boot: one line saying which); 2 bad input
or not root; 3 a host tool is missing (the line names the Debian package to install).
"""
import sys

from lifecycle.cli.runner import EXIT_USER_ERROR


def add_parser(sub, user_error):
    p = sub.add_parser(
        "image", help="build a guest image from a distribution's packages (cached): numbavm image debian",
        description="Build a guest image once and keep it in the cache ($NUMBAVM_CACHE, else "
                    "$XDG_CACHE_HOME/numbavm, else ~/.cache/numbavm).")
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    d = kinds.add_parser(
        "debian", help="Debian riscv64: Debian's kernel, a busybox initramfs, an ext4 root disk",
        description="Build a Debian riscv64 system (minbase, systemd, udev, kmod, procps, python3 and "
                    "--packages) from Debian's packages, as root, with no riscv64 code run on the host: "
                    "mmdebstrap --mode=chrootless, mke2fs -d, and a first boot under numbavm that configures "
                    "the packages.  Prints the image's directory, kernel, initramfs, disk and manifest.  "
                    "Exit status: 0 done; 1 a step failed; 2 bad input or not root; 3 a host tool is "
                    "missing.")
    d.add_argument("--release", default="trixie",
                   help="the Debian release (default trixie: its essential set can be configured from "
                        "the host, which the build needs)")
    d.add_argument("--packages", metavar="A,B,C", default="",
                   help="more packages to install, comma-separated (with what they depend on)")
    d.add_argument("--size", metavar="SIZE", default="2G",
                   help="the root disk's size, sparse: 2G (default), 4096M, ...; at least 1G")
    d.add_argument("--rebuild", action="store_true", help="build again even when the image is cached")
    d.set_defaults(func=lambda args: cmd_debian(args, user_error))
    p.set_defaults(func=lambda args: _no_kind(p))


def _no_kind(parser):
    parser.print_usage()
    print(f"{parser.prog}: error: which image? numbavm image debian", file=sys.stderr)
    return EXIT_USER_ERROR


def cmd_debian(args, user_error):
    from lifecycle.control.units import parse_size
    from lifecycle.guests.debian.apt import FetchError
    from lifecycle.guests.debian.image import ensure_image
    try:
        size = parse_size(args.size)
    except ValueError as e:
        raise user_error(f"--size: {e}") from None
    packages = [p.strip() for p in args.packages.split(",") if p.strip()]
    try:
        image = ensure_image(args.release, packages, size, rebuild=args.rebuild)
    except FetchError as e:
        if e.status == EXIT_USER_ERROR:
            raise user_error(str(e)) from None
        print(f"numbavm: {e}", file=sys.stderr)
        return e.status
    for path in (image.directory, image.kernel, image.initrd, image.disk, image.manifest):
        print(path)
    sys.stdout.flush()
    return 0
