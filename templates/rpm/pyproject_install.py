"""Install one built wheel into an RPM buildroot with the target's paths.

Runs inside repack's Debian-based RPM builder (Python 3.9+, standard library only), in
place of pip: Debian's pip would install with Debian's layout (dist-packages).  As pip
does with Fedora's scheme, the wheel's root goes to --sitelib when the WHEEL file says
Root-Is-Purelib: true and to --sitearch (/usr/lib64/...) otherwise; .data/purelib to
--sitelib, .data/platlib to --sitearch; scripts and console/gui entry points to --bindir
with the target's shebang; INSTALLER says "rpm" and RECORD is dropped, as Fedora's macros
do.  Copies of identical files are hard-linked to one where rpmlint would count too many
bytes of them.  Every installed path (relative to the buildroot) is written to --record.

--arch is the package's build architecture (%{_target_cpu}: "noarch" for a BuildArch:
noarch package).  A platform wheel in a noarch package, or a pure wheel in an arch-specific
one, is refused (exit status 3) after "pure" or "platform" is written to --kind-file:
repack decided the architecture from the sources before building and builds once more
with the architecture the wheel shows.
"""

import argparse
import configparser
import hashlib
import os
import posixpath
import stat
import sys
import zipfile

SCRIPT = """#!{shebang}
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {head}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({call}())
"""


def fail(msg):
    sys.exit(f"pyproject_install: {msg}")


def safe_join(root, rel):
    norm = posixpath.normpath(rel)
    if norm.startswith(("/", "../")) or norm == "..":
        fail(f"unsafe path in wheel: {rel!r}")
    return os.path.join(root, norm)


def write(buildroot, dest, data, mode, record):
    path = buildroot + dest
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)
    record.append(dest)


WASTE_LIMIT = 100_000   # rpmlint's files-duplicated-waste: bytes of copies it tolerates


def link_duplicates(buildroot, paths):
    """Hard-link copies of identical files (content and mode) to one, largest first, until
    the bytes left in copies are within rpmlint's limit (files-duplicated-waste, an error);
    rpm ships a hard link once.  Smaller copies stay: rpmlint warns about every hard link
    across directories.  Only within one top directory (/usr/lib, /usr/bin): rpmlint
    refuses links across them (hardlink-across-partition).  Empty files and symlinks stay
    as they are."""
    groups = {}
    for dest in sorted(set(paths)):
        path = buildroot + dest
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
            continue
        with open(path, "rb") as fh:
            key = ("/".join(dest.split("/")[:3]), st.st_size, stat.S_IMODE(st.st_mode),
                   hashlib.sha256(fh.read()).digest())
        groups.setdefault(key, []).append(path)
    copies = sorted(((key[1], path, same[0]) for key, same in groups.items()
                     for path in same[1:]), key=lambda c: (-c[0], c[1]))
    waste = sum(size for size, _, _ in copies)
    linked = 0
    for size, path, first in copies:
        if waste <= WASTE_LIMIT:
            break
        os.unlink(path)
        os.link(first, path)
        waste -= size
        linked += 1
    return linked


def entry_point_scripts(text, shebang):
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    for section in ("console_scripts", "gui_scripts"):
        if not parser.has_section(section):
            continue
        for name, value in parser.items(section):
            module, _, attrs = value.split("[")[0].strip().partition(":")
            if not attrs or "/" in name or name.startswith("."):
                fail(f"bad entry point {name!r} = {value!r}")
            head = attrs.strip().split(".")[0]
            yield name, SCRIPT.format(shebang=shebang, module=module.strip(), head=head,
                                      call=attrs.strip()).encode()


def is_platform_wheel(whl, info):
    """Root-Is-Purelib: false in WHEEL, or anything under .data/platlib/."""
    try:
        text = whl.read(info + "/WHEEL").decode("utf-8")
    except KeyError:
        fail("the wheel has no .dist-info/WHEEL file")
    purelib = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "root-is-purelib":
            purelib = value.strip().lower() == "true"
    if purelib is None:
        fail("the wheel's WHEEL file has no Root-Is-Purelib")
    platlib = info[: -len(".dist-info")] + ".data/platlib/"
    return not purelib or any(n.startswith(platlib) for n in whl.namelist())


def check_arch(platform, arch, kind_file):
    if kind_file:
        with open(kind_file, "w") as fh:
            fh.write("platform\n" if platform else "pure\n")
    if not arch:
        return
    if platform and arch == "noarch":
        print("pyproject_install: the built wheel is platform-specific but the package is "
              "noarch", file=sys.stderr)
        sys.exit(3)
    if not platform and arch != "noarch":
        print(f"pyproject_install: the built wheel is pure Python but the package is {arch}",
              file=sys.stderr)
        sys.exit(3)


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--buildroot", required=True)
    ap.add_argument("--sitelib", required=True)
    ap.add_argument("--sitearch", help="default: --sitelib")
    ap.add_argument("--arch", default="", help="default: no check")
    ap.add_argument("--kind-file", default="")
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--shebang", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("wheels", nargs="+")
    args = ap.parse_args()
    if len(args.wheels) != 1 or not os.path.isfile(args.wheels[0]):
        fail(f"expected exactly one built wheel, got {args.wheels}")
    args.sitearch = args.sitearch or args.sitelib
    return args


def dist_info_dir(names):
    """The wheel's one .dist-info directory."""
    dist_info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    if len(dist_info) != 1:
        fail("the wheel has no single .dist-info directory")
    return dist_info.pop()


def data_file(kind, rel, body, args):
    """Where a file of the wheel's .data/<kind>/ goes, its content and its mode."""
    if kind == "purelib":
        return safe_join(args.sitelib, rel), body, 0o644
    if kind == "platlib":
        return safe_join(args.sitearch, rel), body, 0o644
    if kind == "scripts":
        first, _, remainder = body.partition(b"\n")
        if first.startswith(b"#!python"):
            body = b"#!" + args.shebang.encode() + b"\n" + remainder
        return safe_join(args.bindir, rel), body, 0o755
    if kind == "data":
        return safe_join("/usr", rel), body, 0o644
    if kind == "headers":
        return safe_join("/usr/include/python", rel), body, 0o644
    fail(f"unknown wheel data directory {kind!r}")


def member_file(name, body, info, platform, args):
    """Where one member of the wheel goes, its content and its mode; None for the files
    that are not installed (RECORD and its signatures, the wheel's INSTALLER)."""
    top, _, rest = name.partition("/")
    if top == info[: -len(".dist-info")] + ".data":
        kind, _, rel = rest.partition("/")
        dest, body, mode = data_file(kind, rel, body, args)
    elif top == info and rest in ("RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER"):
        return None
    else:
        dest, mode = safe_join(args.sitearch if platform else args.sitelib, name), 0o644
    # ELF objects (extension modules) are executable, as pip installs them and as
    # rpm's strip and ELF dependency generators expect: they skip other files.
    if platform and body.startswith(b"\x7fELF"):
        mode = 0o755
    return dest, body, mode


def main():
    args = parse_args()
    record = []
    with zipfile.ZipFile(args.wheels[0]) as whl:
        names = whl.namelist()
        info = dist_info_dir(names)
        for name in names:
            safe_join(args.sitelib, name)
        platform = is_platform_wheel(whl, info)
        check_arch(platform, args.arch, args.kind_file)
        root = args.sitearch if platform else args.sitelib
        for name in names:
            if name.endswith("/"):
                continue
            placed = member_file(name, whl.read(name), info, platform, args)
            if placed is not None:
                write(args.buildroot, *placed, record)
        write(args.buildroot, posixpath.join(root, info, "INSTALLER"), b"rpm\n", 0o644, record)
        if info + "/entry_points.txt" in names:
            text = whl.read(info + "/entry_points.txt").decode()
            for script, body in entry_point_scripts(text, args.shebang):
                write(args.buildroot, posixpath.join(args.bindir, script), body, 0o755, record)
    link_duplicates(args.buildroot, record)
    with open(args.record, "w") as fh:
        fh.write("".join(p + "\n" for p in sorted(set(record))))


main()
