"""Install one pure-Python wheel into an RPM buildroot with the target's paths.

Runs inside repack's Debian-based RPM builder (Python 3.9+, standard library only), in
place of pip: Debian's pip would install with Debian's layout (dist-packages).  purelib
and platlib go to --sitelib, scripts and console/gui entry points to --bindir with the
target's shebang; INSTALLER says "rpm" and RECORD is dropped, as Fedora's macros do.
Every installed path (relative to the buildroot) is written to --record.
"""

import argparse
import configparser
import os
import posixpath
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--buildroot", required=True)
    ap.add_argument("--sitelib", required=True)
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--shebang", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("wheels", nargs="+")
    args = ap.parse_args()
    if len(args.wheels) != 1 or not os.path.isfile(args.wheels[0]):
        fail(f"expected exactly one built wheel, got {args.wheels}")
    record = []
    with zipfile.ZipFile(args.wheels[0]) as whl:
        names = whl.namelist()
        dist_info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        if len(dist_info) != 1:
            fail("the wheel has no single .dist-info directory")
        info = dist_info.pop()
        data_dir = info[: -len(".dist-info")] + ".data"
        for name in names:
            if name.endswith("/"):
                continue
            body = whl.read(name)
            mode = 0o644
            top, _, rest = name.partition("/")
            if top == data_dir:
                kind, _, rel = rest.partition("/")
                if kind in ("purelib", "platlib"):
                    dest = safe_join(args.sitelib, rel)
                elif kind == "scripts":
                    dest = safe_join(args.bindir, rel)
                    mode = 0o755
                    first, _, remainder = body.partition(b"\n")
                    if first.startswith(b"#!python"):
                        body = b"#!" + args.shebang.encode() + b"\n" + remainder
                elif kind == "data":
                    dest = safe_join("/usr", rel)
                elif kind == "headers":
                    dest = safe_join("/usr/include/python", rel)
                else:
                    fail(f"unknown wheel data directory {kind!r}")
            elif top == info and rest in ("RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER"):
                continue
            else:
                dest = safe_join(args.sitelib, name)
            write(args.buildroot, dest, body, mode, record)
        write(args.buildroot, posixpath.join(args.sitelib, info, "INSTALLER"), b"rpm\n", 0o644,
              record)
        if info + "/entry_points.txt" in names:
            text = whl.read(info + "/entry_points.txt").decode()
            for script, body in entry_point_scripts(text, args.shebang):
                write(args.buildroot, posixpath.join(args.bindir, script), body, 0o755, record)
    with open(args.record, "w") as fh:
        fh.write("".join(p + "\n" for p in sorted(set(record))))


main()
