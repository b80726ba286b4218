#!/usr/bin/env python3
"""The architecture, checked: which folder may include which.

- nst-core's folders depend only downwards, in the order of ORDER below
  (a folder may include its own headers and those of folders before it);
- no file of nst-core includes another that (transitively) includes it back;
- the front ends (cli/, plugin/, ui/) use only the engine's public header
  nst/nst.h (tests/ and bench/ may read internals);
- nst-core includes nothing of GLib, GTK or GIMP.

Usage: check_includes.py SOURCE_ROOT.  Prints every violation; exit 1 if any.
"""
import os
import re
import sys

ORDER = ["base", "image", "io", "color", "nn", "gpu", "loss", "optim", "transfer"]
FRONT_ENDS = ["cli", "plugin", "ui"]
FORBIDDEN_IN_ENGINE = re.compile(r"^(glib|gtk|gdk|gio|gegl|babl|libgimp)", re.I)
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return INCLUDE.findall(f.read())


def sources(folder):
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            if name.endswith((".c", ".h")):
                yield os.path.join(root, name)


def main(src):
    core = os.path.join(src, "nst-core")
    problems = []
    rank = {name: i for i, name in enumerate(ORDER)}
    graph = {}
    for path in sources(core):
        rel = os.path.relpath(path, core)
        folder = rel.split(os.sep)[0]
        if folder == "include":
            continue
        if folder not in rank:
            problems.append(f"nst-core/{rel}: folder '{folder}' is not in the layer order {ORDER}")
            continue
        graph[rel] = []
        for kind, name in includes(path):
            if FORBIDDEN_IN_ENGINE.match(name):
                problems.append(f"nst-core/{rel}: includes <{name}> (the engine is GLib-, GTK- and GIMP-free)")
            if kind != '"' or name == "nst/nst.h":
                continue
            target = name.split("/")[0]
            if "/" not in name or target not in rank:
                continue
            graph[rel].append(name)
            if rank[target] > rank[folder]:
                problems.append(f"nst-core/{rel}: includes {name}, but {target}/ comes after {folder}/")
    # File-level cycles (within a folder as well), by depth-first search.
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                problems.append("include cycle: " + " -> ".join(cycle))
            elif nxt in graph and not state.get(nxt):
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])
    for front in FRONT_ENDS:
        for path in sources(os.path.join(src, front)):
            for kind, name in includes(path):
                top = name.split("/")[0]
                if kind == '"' and top in rank:
                    problems.append(f"{os.path.relpath(path, src)}: includes the engine's internal {name} "
                                    "(front ends use nst/nst.h only)")
    for p in problems:
        print(p)
    print(f"{len(graph)} engine files checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
