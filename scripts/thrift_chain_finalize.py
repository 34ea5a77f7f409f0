#!/usr/bin/env python3
"""Make Thrift c_glib's generated struct finalizers chain up to GObject's.

thrift 0.17's c_glib generator writes `<struct>_finalize()` functions that
free the struct's fields but never call the parent class's finalize, so
g_object_finalize() never runs and GLib's per-object data (the notify queue
GLib 2.74 parks in qdata during the last unref) leaks with every struct:
about 48 bytes per message on our wire, forever, in a long-running extension.
This adds the chain-up call at the end of each such function, in the build
directory's generated copy. It fails loudly if the generated code no longer
looks as expected, so a Thrift upgrade can't silently undo the fix.

usage: thrift_chain_finalize.py FILE.c
"""
import re
import sys

CHAIN = "  G_OBJECT_CLASS (g_type_class_peek_parent (G_OBJECT_GET_CLASS (object)))->finalize (object);\n"
HEAD = re.compile(r"^(\w+)_finalize \(GObject \*object\)\n\{\n", re.M)


def main(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    out, pos, patched = [], 0, 0
    for m in HEAD.finditer(src):
        end = src.index("\n}\n", m.end())
        body = src[m.end():end + 1]
        out.append(src[pos:end + 1])
        if "->finalize (object)" not in body:
            out.append(CHAIN)
            patched += 1
        pos = end + 1
    out.append(src[pos:])
    if not HEAD.search(src):
        sys.stderr.write("thrift_chain_finalize: no struct finalizers in %s: "
                         "check the generated code by hand\n" % path)
        return 1
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]) if len(sys.argv) == 2 else 2)
