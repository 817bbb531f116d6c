"""Debian's package archive from the host: the cache, the mirror, and apt with a private state.

The host's own apt-get and apt-cache fetch packages of Debian's riscv64 port with a state of
their own (sources list, lists, dpkg status under one directory), so nothing is installed on
the host and its apt sources are left alone.  The mirror is the one the host's apt sources
name (NUMBAVM_DEBIAN_MIRROR overrides it); the archive is verified with the host's
debian-archive-keyring.  Used by image.py (`numbavm image debian`) and tests/debian/fetch.py.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

SUITE = "trixie"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


class FetchError(Exception):
    """A step failed: one line saying which and why; .status is the command's exit status
    (1 a step failed, 2 bad input, 3 a host tool is missing)."""

    def __init__(self, msg, status=1):
        super().__init__(msg)
        self.status = status


def say(msg):
    """One progress line on stderr."""
    print(f"[debian] {msg}", file=sys.stderr, flush=True)


def cache_root():
    """numbavm's cache: $NUMBAVM_CACHE, else $XDG_CACHE_HOME/numbavm, else ~/.cache/numbavm."""
    return os.environ.get("NUMBAVM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "numbavm")


def require_tools(tools):
    """tools: {command: the Debian package that provides it}; a missing one is status 3."""
    for tool, package in tools.items():
        if shutil.which(tool) is None:
            raise FetchError(f"{tool} is missing: install the Debian package {package} "
                             f"(apt-get install {package})", 3)


def require_keyring():
    if not os.path.isfile(KEYRING):
        raise FetchError(f"{KEYRING} is missing (Debian package debian-archive-keyring)", 3)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def host_mirror():
    """The Debian archive URI the host's apt sources use (deb822 .sources or one-line .list):
    the first whose path ends in /debian (so not debian-security), else deb.debian.org."""
    if os.environ.get("NUMBAVM_DEBIAN_MIRROR"):
        return os.environ["NUMBAVM_DEBIAN_MIRROR"].rstrip("/")
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")
                                               + glob.glob("/etc/apt/sources.list.d/*.sources"))
    for path in files:
        try:
            text = read(path).decode(errors="replace")
        except OSError:
            continue
        if path.endswith(".sources"):
            uris = [u for m in re.finditer(r"(?mi)^URIs:(.*)$", text) for u in m.group(1).split()]
        else:
            uris = re.findall(r"(?m)^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text)
        for uri in uris:
            if re.match(r"https?://", uri) and uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return DEFAULT_MIRROR


class Apt:
    """apt-get/apt-cache over a private state under `top`: riscv64 only, the host's dpkg
    status, preferences and sources not read."""

    def __init__(self, top, suite=SUITE):
        self.top = top
        self.suite = suite
        require_tools({"apt-get": "apt", "apt-cache": "apt", "dpkg-deb": "dpkg"})
        require_keyring()
        os.makedirs(os.path.join(top, "lists", "partial"), exist_ok=True)
        os.makedirs(os.path.join(top, "cache", "archives", "partial"), exist_ok=True)
        os.makedirs(os.path.join(top, "preferences.d"), exist_ok=True)
        self.mirror = host_mirror()
        with open(os.path.join(top, "sources.list"), "w") as f:
            f.write(f"deb [arch=riscv64 signed-by={KEYRING}] {self.mirror} {suite} main\n")
        open(os.path.join(top, "status"), "a").close()
        opts = {
            "Dir::Etc::sourcelist": os.path.join(top, "sources.list"),
            "Dir::Etc::sourceparts": "-",
            "Dir::Etc::preferences": os.path.join(top, "preferences"),
            "Dir::Etc::preferencesparts": os.path.join(top, "preferences.d"),
            "Dir::State::Lists": os.path.join(top, "lists"),
            "Dir::State::status": os.path.join(top, "status"),
            "Dir::Cache": os.path.join(top, "cache"),
            "APT::Architecture": "riscv64",
            "APT::Architectures": "riscv64",
            "Acquire::Languages": "none",
        }
        if os.getuid() == 0:        # else apt downloads as _apt, who may not write into this cache
            opts["APT::Sandbox::User"] = "root"
        self.opts = [a for k, v in opts.items() for a in ("-o", f"{k}={v}")]

    def _run(self, tool, args, what, cwd=None):
        p = subprocess.run([tool, "-q", *self.opts, *args], capture_output=True, text=True, cwd=cwd)
        if p.returncode != 0:
            lines = (p.stderr + p.stdout).splitlines()
            detail = next((line for line in lines if line.startswith("E:")), lines[-1] if lines else "no output")
            if "NO_PUBKEY" in p.stderr + p.stdout:
                detail = (f"{KEYRING} lacks the keys that sign {self.suite} (NO_PUBKEY): "
                          "upgrade debian-archive-keyring (bookworm's 2023.3+deb12u2 has trixie's keys)")
            raise FetchError(f"{what} failed: {detail}")
        return p.stdout

    def has_lists(self):
        return bool(glob.glob(os.path.join(self.top, "lists", f"*_dists_{self.suite}_*Packages*")))

    def update(self):
        say(f"apt-get update: {self.mirror} {self.suite} main, riscv64 (private lists in {self.top})")
        # --error-on=any: a mirror that cannot be reached is an error, not a warning.
        self._run("apt-get", ["update", "--error-on=any"], f"apt-get update of {self.mirror} {self.suite}")

    def candidate(self, pkg):
        """-> (version, Depends) of the package's candidate in the lists."""
        out = self._run("apt-cache", ["show", "--no-all-versions", pkg], f"apt-cache show {pkg}")
        fields = dict(re.findall(r"(?m)^(Version|Depends): (.*)$", out))
        if "Version" not in fields:
            raise FetchError(f"{pkg} is not in {self.mirror} {self.suite} main for riscv64")
        return fields["Version"], fields.get("Depends", "")

    def download(self, pkg, version, into):
        """-> the .deb of pkg=version, downloaded into `into` (apt checks its hash against the lists)."""
        self._run("apt-get", ["download", f"{pkg}={version}"], f"apt-get download {pkg}={version}", cwd=into)
        debs = glob.glob(os.path.join(into, f"{pkg}_*.deb"))
        if len(debs) != 1:
            raise FetchError(f"apt-get download {pkg}={version} left {len(debs)} .deb files in {into}")
        return debs[0]
