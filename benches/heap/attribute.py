# Sums heaptrack_print's peak consumers by the first two frames of
# Yukari's own code in each allocation's stack: where the heap goes.
# Usage: attribute.py PEAKS_FILE INSTANCES
import collections, re, sys

ours = re.compile(r"^\s+at (node-executor|api|projections|eventlog|domain|controller-link|storage|objectstore|console|src)/")
size = re.compile(r"^\s*([0-9.]+)([KMG]?)B? consumed over (\d+) calls from:")
top = re.compile(r"^[0-9.]+[KMG]?B? peak")
mult = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}
lines = open(sys.argv[1]).read().split("\n")
instances = int(sys.argv[2])
sites = collections.Counter()
i = 0
while i < len(lines):
    m = size.match(lines[i])
    if not m:
        i += 1
        continue
    j, chain = i + 1, []
    while j < len(lines) and not size.match(lines[j]) and not top.match(lines[j]):
        if ours.match(lines[j]) and len(chain) < 2:
            chain.append(lines[j - 1].strip() + " @ " + lines[j].strip()[3:])
        j += 1
    sites[" <- ".join(chain) or "(no frame of Yukari's)"] += float(m.group(1)) * mult[m.group(2)]
    i = j
print(f"heap at its peak: {sum(sites.values()) / 1e6:.1f} MB")
for site, b in sites.most_common(25):
    print(f"{b / 1e6:8.1f} MB {b / instances:7.0f} B/instance  {site}")
