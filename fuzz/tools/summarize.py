#!/usr/bin/env python3
"""Summarizes run_long.sh logs: per target, seconds fuzzed (wall), CPU
seconds (user + system, from LOGDIR/<target>.cpu when present), runs, final
cov/ft, crashes. Usage: python3 fuzz/tools/summarize.py LOGDIR [LOGDIR ...]"""
import glob, os, re, sys

rows = []
for d in sys.argv[1:]:
    for path in sorted(glob.glob(os.path.join(d, "*.log"))):
        name = os.path.basename(path)[:-4]
        if name.endswith(".build") or name == "summary":
            continue
        text = open(path, errors="replace").read()
        runs = secs = 0
        for m in re.finditer(r"Done (\d+) runs in (\d+) second", text):
            runs += int(m.group(1)); secs += int(m.group(2))
        # A segment that crashed prints no "Done": count its last #N line.
        for seg in re.split(r"=== \S+ segment \d+: ", text)[1:]:
            if "Done " not in seg:
                nums = re.findall(r"^#(\d+)\s", seg, re.M)
                if nums:
                    runs += int(nums[-1])
        total = re.search(r"done after (\d+) s", text)
        cov = re.findall(r"cov: (\d+) ft: (\d+)", text)
        cpu = 0.0
        cpu_path = os.path.join(d, name + ".cpu")
        if os.path.exists(cpu_path):
            for line in open(cpu_path):
                f = line.split()
                if len(f) == 4 and f[0] == "cpu":
                    cpu += float(f[1]) + float(f[2])
        rows.append((name, int(total.group(1)) if total else secs, cpu, runs,
                     cov[-1] if cov else ("-", "-"),
                     # crash-, leak-, timeout-, oom- units; not libFuzzer's
                     # report of the slowest unit (slow-unit-).
                     len(re.findall(r"Test unit written to \S*/(?:crash|leak|timeout|oom)-", text))))
tot = 0
tot_cpu = 0.0
print("| target | wall s | CPU s | runs | final cov / ft | crashes |")
print("|---|---:|---:|---:|---|---:|")
for n, s, cpu, r, (c, f), k in rows:
    tot += s
    tot_cpu += cpu
    print(f"| `{n}` | {s} | {cpu:.0f} | {r} | {c} / {f} | {k} |")
print(f"| **total** | **{tot}** | **{tot_cpu:.0f}** ({tot_cpu / 3600:.2f} CPU-hours) | | | |")
