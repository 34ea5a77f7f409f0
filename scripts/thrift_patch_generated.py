#!/usr/bin/env python3
"""Fix two defects of Thrift 0.17's c_glib generator in our generated copy.

1. Struct finalizers never chain up to GObject's. The generator writes
`<struct>_finalize()` functions that
free the struct's fields but never call the parent class's finalize, so
g_object_finalize() never runs and GLib's per-object data (the notify queue
GLib 2.74 parks in qdata during the last unref) leaks with every struct:
about 48 bytes per message on our wire, forever, in a long-running extension.
This adds the chain-up call at the end of each such function.

2. Reading a map<string,string> leaks the key when the value read fails: a
malformed request on our extension socket leaked a few bytes each time
(found by tests/fuzz/fuzz_thrift_call, 2026-11-27). The key is freed there.

Both patch the build directory's generated copy, and fail loudly if the
generated code no longer looks as expected, so a Thrift upgrade can't
silently undo a fix.

usage: thrift_patch_generated.py FILE.c
"""
import re
import sys

CHAIN = "  G_OBJECT_CLASS (g_type_class_peek_parent (G_OBJECT_GET_CLASS (object)))->finalize (object);\n"
HEAD = re.compile(r"^(\w+)_finalize \(GObject \*object\)\n\{\n", re.M)


MAP_ENTRY = re.compile(r"gchar \* (key\d+) = NULL;\s*\n\s*gchar \* (val\d+) = NULL;")


def free_key_on_value_error(src):
    """In each string->string map loop, free the key when the value read fails."""
    out, pos, patched = [], 0, 0
    for m in MAP_ENTRY.finditer(src):
        key, val = m.group(1), m.group(2)
        read = "thrift_protocol_read_string (protocol, &%s, error)) < 0)" % val
        at = src.find(read, m.end())
        ret = src.find("return -1;", at)
        if at < 0 or ret < 0 or ret - at > len(read) + 40:
            continue
        out.append(src[pos:ret])
        out.append("{ g_free (%s); return -1; }" % key)
        pos = ret + len("return -1;")
        patched += 1
    out.append(src[pos:])
    return "".join(out), patched


def main(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    src, maps = free_key_on_value_error(src)
    if maps == 0:
        sys.stderr.write("thrift_patch_generated: no string map readers in %s: "
                         "check the generated code by hand\n" % path)
        return 1
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
        sys.stderr.write("thrift_patch_generated: no struct finalizers in %s: "
                         "check the generated code by hand\n" % path)
        return 1
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]) if len(sys.argv) == 2 else 2)
