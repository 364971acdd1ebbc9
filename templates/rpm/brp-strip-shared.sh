#!/bin/sh
# Strip the ELF shared objects (extension modules) of the buildroot with --strip-unneeded,
# as find-debuginfo does on Fedora and EL; repack makes no -debuginfo packages (see
# macros.repack-python).  rpm 4.16's own brp-strip skips shared objects and 4.20's only
# removes their debug sections (-g), which rpmlint reports as unstripped-binary-or-object.
# Usage (from %__os_install_post): sh brp-strip-shared.sh STRIP
set -e
[ -n "$RPM_BUILD_ROOT" ] && [ "$RPM_BUILD_ROOT" != / ] || exit 0
find "$RPM_BUILD_ROOT" -type f \( -name '*.so' -o -name '*.so.*' \) \
    ! -path '*/usr/lib/debug/*' -exec sh -c '
    strip=$1; shift
    for f do
        case $(file -b "$f") in
            "ELF "*"shared object"*) "$strip" --strip-unneeded "$f" ;;
        esac
    done' sh "${1:-strip}" {} +
