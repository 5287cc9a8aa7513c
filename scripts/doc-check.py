#!/usr/bin/env python3
# doc-check: lists every public declaration of the given Swift source folders that has no `///` doc
# comment, and exits 1 when there is one (`make doc-check`; not part of `make test`).
#
#   scripts/doc-check.py [--count] DIR...
#
# A declaration is a line whose first keyword after its attributes is `public` (with any of `private(set)`,
# `static`, `final`, `mutating`, `convenience` … between): func, var, let, init, subscript, struct, enum,
# class, actor, protocol, typealias. It is documented when the line above it, past its attribute lines
# (`@inline(__always)`, `@discardableResult`), is a `///` comment. Enum cases are not checked. Files under
# a `Generated` folder (protoc's output) are skipped. An `@Option`/`@Flag`/`@Argument` with a `help:` text
# counts as documented (the help is what users read). What a comment should say: docs/ARCHITECTURE.md, "Tests".
# --count prints only "TOTAL UNDOCUMENTED" and always exits 0.
import os
import re
import sys

MODIFIERS = r"(?:(?:private|fileprivate|internal)\(set\)\s+|static\s+|class\s+(?=(?:func|var|let|subscript)\b)|final\s+|" \
            r"mutating\s+|nonmutating\s+|nonisolated\s+|convenience\s+|required\s+|override\s+|lazy\s+|indirect\s+|dynamic\s+)*"
DECLARATION = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*public\s+" + MODIFIERS +
                         r"(?:func|var|let|init|subscript|struct|enum|class|actor|protocol|typealias)\b")
ATTRIBUTE_LINE = re.compile(r"^\s*@\w+(?:\(.*\))?\s*$")


def swift_files(folder):
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "Generated")
        for name in sorted(files):
            if name.endswith(".swift"):
                yield os.path.join(root, name)


def check(path):
    """(declarations, [(line number, text) of the undocumented ones]) of one file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    total, missing = 0, []
    for i, line in enumerate(lines):
        if not DECLARATION.match(line):
            continue
        total += 1
        j = i - 1
        while j >= 0 and ATTRIBUTE_LINE.match(lines[j]):
            j -= 1
        # A command-line option's help text is its documentation (what `--help` and the man page show).
        k = i
        while k > 0 and lines[k - 1].strip() and not lines[k - 1].lstrip().startswith("///") and i - k < 6:
            k -= 1
        attributes = " ".join(lines[k:i + 1])
        if re.search(r"@(?:Option|Flag|Argument)\(.*\bhelp:", attributes):
            continue
        if j < 0 or not lines[j].lstrip().startswith("///"):
            missing.append((i + 1, line.strip()))
    return total, missing


def main(argv):
    count_only = "--count" in argv
    folders = [a for a in argv if a != "--count"]
    if not folders:
        sys.stderr.write("usage: scripts/doc-check.py [--count] DIR...\n")
        return 64
    total, undocumented = 0, 0
    for folder in folders:
        if not os.path.isdir(folder):
            sys.stderr.write(f"doc-check: {folder}: not a folder\n")
            return 66
        for path in swift_files(folder):
            n, missing = check(path)
            total += n
            undocumented += len(missing)
            if not count_only:
                for number, text in missing:
                    print(f"{path}:{number}: public declaration without a /// doc comment: {text[:100]}")
    if count_only:
        print(total, undocumented)
        return 0
    print(f"doc-check: {undocumented} of {total} public declarations in {', '.join(folders)} have no doc comment",
          file=sys.stderr)
    return 1 if undocumented else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
