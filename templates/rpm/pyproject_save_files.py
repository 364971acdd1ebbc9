"""Write the %files list of an installed wheel, as Fedora's %pyproject_save_files does.

Runs inside repack's Debian-based RPM builder (Python 3.9+, standard library only).
Arguments after "--" are globs of top-level module names ("django", "*", "+auto"); a
top-level name in site-packages that no glob matches is an error, as in Fedora.  Module
directories are listed whole (so byte-compiled files are owned too), the .dist-info file
by file with its directories as %dir, its license files as %license (-l: there must be
one; -L: do not mark them).  Both --sitelib and --sitearch are looked at: a platform wheel
installs to the latter (/usr/lib64/python3.X/site-packages).  A module directory with
gettext catalogs (locale/<code>/LC_MESSAGES/*.mo) is listed file by file, each catalog
%lang(<code>) as %find_lang would.  Unlike Fedora's, the files
the wheel installed to --bindir are listed too: console scripts and the scripts a setup.py
names (``scripts=['bin/jp.py']``), which the metadata does not, so a spec cannot name them
all before the build; so are the files of its .data/data and .data/headers (a setup.py's
``data_files``: fonttools' /usr/share/man/man1/ttx.1), file by file, a manual or info page
with a trailing * for the suffix brp-compress gives it after %install, as Fedora's specs
write them.  A file of the RECORD that %install removed is not listed.
"""

import argparse
import fnmatch
import os
import posixpath
import re
import sys


def fail(msg):
    sys.exit(f"pyproject_save_files: {msg}")


def quoted(path):
    if any(c in path for c in '"\\%\n') or path != path.strip():
        fail(f"cannot list {path!r} safely in %files")
    return f'"{path}"' if " " in path else path


# brp-compress (in %__os_install_post, after %install) gzips the pages under these.
COMPRESSED = ("/usr/share/man/", "/usr/share/info/")
GLOB_CHARS = "*?[]{}"


def listed_file(path):
    """A file %files names one by one: never as a glob of upstream's making."""
    if any(c in path for c in GLOB_CHARS):   # %files would expand it as a glob
        fail(f"cannot list {path!r} safely in %files")
    return quoted(path) + ("*" if path.startswith(COMPRESSED) else "")


CATALOG = re.compile(r"/locale/([A-Za-z0-9_@.+-]+)/LC_MESSAGES/[^/]+\.mo$")


def file_by_file(root, paths):
    """A module directory holding message catalogs, listed file by file so that each .mo
    is %lang(<code>), as Fedora's %find_lang marks them (rpmlint: file-not-in-%lang): its
    directories as %dir, and the byte code compiled after %install as one glob per module."""
    dirs = {root}
    out = []
    for path in sorted(paths):
        parent = posixpath.dirname(path)
        while parent.startswith(root + "/"):
            dirs.add(parent)
            parent = posixpath.dirname(parent)
        m = CATALOG.search(path)
        out.append((f"%lang({m.group(1)}) " if m else "") + quoted(path))
        if path.endswith(".py"):
            cache = posixpath.join(posixpath.dirname(path), "__pycache__")
            dirs.add(cache)
            out.append(quoted(f"{cache}/{posixpath.basename(path)[:-3]}.*.pyc"))
    return ["%dir " + quoted(d) for d in sorted(dirs)] + out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--buildroot", required=True)
    ap.add_argument("--sitelib", required=True)
    ap.add_argument("--sitearch", help="default: --sitelib")
    ap.add_argument("--bindir", help="also list what the wheel installed here")
    ap.add_argument("--record", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("-l", action="store_true", dest="licenses")
    ap.add_argument("-L", action="store_true", dest="no_licenses")
    ap.add_argument("globs", nargs="*")
    args = ap.parse_args()
    globs = [g for g in args.globs if g != "--"]
    if not globs:
        fail("give at least one module glob (or '*' / '+auto')")
    with open(args.record) as fh:
        # what %install left out after the wheel was installed (Windows executables,
        # [packages.<name>] exclude) is in the RECORD but not in the package
        installed = [line.strip() for line in fh
                     if line.strip() and os.path.lexists(args.buildroot + line.strip())]
    sitearch = args.sitearch or args.sitelib
    sites = list(dict.fromkeys(s.rstrip("/") + "/" for s in (args.sitelib, sitearch)))
    lines = []
    tops = {}
    licenses = 0
    bindir = args.bindir.rstrip("/") + "/" if args.bindir else None
    for path in installed:
        if bindir and path.startswith(bindir) and "/" not in path[len(bindir):]:
            lines.append(listed_file(path))
            continue
        site = next((s for s in sites if path.startswith(s)), None)
        if site is None:
            # .data/data and .data/headers: pyproject_install.py put them under /usr
            if path.startswith("/usr/"):
                lines.append(listed_file(path))
            continue
        top, _, rest = path[len(site):].partition("/")
        if top.endswith(".dist-info"):
            is_license = ("/licenses/" in "/" + rest
                          or rest.upper().startswith(("LICENSE", "COPYING")))
            mark = "%license " if is_license and not args.no_licenses else ""
            licenses += bool(mark)
            lines.append(mark + quoted(path))
            parts = rest.split("/")[:-1]
            for i in range(len(parts) + 1):
                lines.append("%dir " + quoted(posixpath.join(site + top, *parts[:i])))
        else:
            tops.setdefault((site, top), []).append(path)
    for (site, top), paths in sorted(tops.items()):
        # A top-level extension module "_x.cpython-39-x86_64-linux-gnu.so" is module "_x".
        name = top.split(".")[0] if top.endswith(".so") else top.removesuffix(".py")
        if not ("+auto" in globs or any(fnmatch.fnmatchcase(name, g) for g in globs)):
            fail(f"{top} is installed in site-packages but matches none of {globs}")
        if os.path.isdir(args.buildroot + site + top):
            if any(CATALOG.search(p) for p in paths):
                lines += file_by_file(site + top, paths)
            else:
                lines.append(quoted(site + top) + "/")
        else:
            lines.append(quoted(site + top))
            if top.endswith(".py"):   # byte-compiled after %install by __os_install_post
                lines.append(quoted(f"{site}__pycache__/{name}.*.pyc"))
    if args.licenses and not licenses:
        fail("-l given but the wheel's .dist-info has no license file")
    with open(args.output, "w") as fh:
        fh.write("".join(line + "\n" for line in dict.fromkeys(lines)))


main()
