#!/usr/bin/env python3
"""bench/report.py — turns a bench/boot.sh run into BENCHMARKS.md and a chart.

Reads build/bench/{meta.txt,results.tsv,img/,logs/} (written by boot.sh),
parses every boot's serial log (the probe's `@probe …` lines, and overinit's
`overinit: module …` / `overinit: timing: …` debug lines) and writes:

  BENCHMARKS.md     tables: image sizes, ms in the initramfs, QEMU wall time,
                    whether / is an overlay and /home persists, overinit's
                    per-phase breakdown and own overhead, what failed and why
  bench/chart.svg   ms in the initramfs and image size per system (log scales)

Standard library only (plus the `zstd`/`lz4` commands for sizing images
compressed that way).

    python3 bench/report.py --out build/bench --report BENCHMARKS.md --chart bench/chart.svg
"""

import argparse
import lzma
import os
import re
import statistics
import subprocess
import sys
from collections import OrderedDict, defaultdict

ESC = re.compile(rb"\x1b(\[[0-9;?]*[A-Za-z]|c)")
PROBE = re.compile(r"@probe (\S+) ?(.*)$")
MODULE = re.compile(r"overinit: module (\S+) ([0-9.]+) ms")
TIMING = re.compile(r"overinit: timing: (.*?) ms\s*$")
SUMMARY_MS = re.compile(r"; ([0-9.]+) ms$")
# Phases whose time is mount(2)/umount2 work in the kernel (DESIGN §1).
MOUNT_PHASES = ("rootfs", "early", "base", "data", "overlay", "state", "system")


# --- inputs -------------------------------------------------------------------


def read_meta(path):
    meta = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, rest = line.rstrip("\n").partition("\t")
            meta[key].append(rest)
    return meta


def one(meta, key, default="?"):
    return meta[key][0] if meta.get(key) else default


def read_results(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 8:
                continue
            sys_, machine, smp, rnd, rc, wall, ms, log = parts[:8]
            rows.append(
                dict(sys=sys_, machine=machine, smp=int(smp), round=int(rnd), rc=int(rc), wall=float(wall), log=log)
            )
    return rows


def console_lines(path):
    """The serial log as text lines, without \\r and terminal escapes."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return []
    raw = ESC.sub(b"", raw.replace(b"\r", b""))
    return raw.decode("utf-8", "replace").split("\n")


def parse_boot(row, out_dir):
    """Adds what the boot's log says to row."""
    lines = console_lines(os.path.join(out_dir, row["log"]))
    probe = []
    modules = OrderedDict()
    timing = None
    for line in lines:
        m = PROBE.search(line)
        if m:
            probe.append((m.group(1), m.group(2)))
        m = MODULE.search(line)
        if m:
            modules[m.group(1)] = float(m.group(2))
        m = TIMING.search(line)
        if m:
            timing = OrderedDict()
            for kv in m.group(1).split():
                k, _, v = kv.partition("=")
                try:
                    timing[k] = float(v)
                except ValueError:
                    pass
    row["ms"] = None
    row["root"] = None
    row["wrote"] = None
    row["write_error"] = None
    row["read"] = None
    row["own_total"] = None
    row["end"] = False
    root_mounts = []
    for key, rest in probe:
        if key == "ms_initramfs":
            try:
                row["ms"] = float(rest)
            except ValueError:
                pass
        elif key == "mount":
            # mountinfo: id parent maj:min root mountpoint opts [tags] - fstype source superopts
            f = rest.split(" ")
            if len(f) > 4 and f[4] == "/" and " - " in rest:
                tail = rest.split(" - ", 1)[1].split(" ")
                root_mounts.append((tail[0], f[5].split(",")[0]))
        elif key == "wrote" and rest.startswith("/home/bench "):
            row["wrote"] = rest.split(" ", 1)[1]
        elif key == "check" and rest.startswith("write FAIL"):
            err = rest.split(": ", 1)[-1]
            row["write_error"] = re.sub(r" \(os error \d+\)$", "", err)
        elif key == "file" and rest.startswith("/home/bench "):
            row["read"] = rest.split(" ", 1)[1]
        elif key == "kmsg" and rest.startswith("overinit:"):
            m = SUMMARY_MS.search(rest)
            if m:
                row["own_total"] = float(m.group(1))
        elif key == "end":
            row["end"] = True
    if root_mounts:
        row["root"] = root_mounts[-1]  # the top mount on / (fstype, ro/rw)
    row["modules"] = modules
    row["timing"] = timing
    row["ok"] = row["ms"] is not None and row["end"]
    row["why"] = None if row["ok"] else failure_reason(row, lines)


def failure_reason(row, lines):
    text = [l.strip() for l in lines if l.strip()]
    for l in text:
        if "Kernel panic" in l:
            return "kernel panic: " + re.sub(r"^\[[ 0-9.]+\] ", "", l)
    for l in text:  # overinit's first error line names phase, action, object, errno
        m = re.search(r"overinit: error: .*", l)
        if m:
            return "rc=%d; %s" % (row["rc"], m.group(0)[:200])
    interesting = [
        l
        for l in text
        if re.search(r"FAILED|[Ff]ailed|error|Error|cannot|Gave up|not found|ALERT|emergency|overinit: error", l)
    ]
    last = interesting[-1] if interesting else (text[-1] if text else "no console output")
    last = re.sub(r"^\[[ 0-9.]+\] ", "", last)[:160]
    if row["rc"] == 124:
        return "timed out; last sign: " + last
    return "rc=%d; %s" % (row["rc"], last)


# --- images ---------------------------------------------------------------------

MAGICS = [
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x02\x21\x4c\x18", "lz4"),
    (b"BZh", "bzip2"),
    (b"\x5d\x00\x00", "lzma"),
]


def cpio_end(data, off):
    """End offset of the newc cpio archive starting at off (after TRAILER!!!)."""
    while off + 110 <= len(data):
        if data[off : off + 6] not in (b"070701", b"070702"):
            raise ValueError("bad cpio header at %d" % off)
        filesize = int(data[off + 54 : off + 62], 16)
        namesize = int(data[off + 94 : off + 102], 16)
        name = data[off + 110 : off + 110 + namesize - 1]
        off = (off + 110 + namesize + 3) & ~3
        off = (off + filesize + 3) & ~3
        if name == b"TRAILER!!!":
            return off
    return len(data)


def decompress(fmt, data):
    if fmt == "gzip":
        # gzip.decompress reads concatenated members; the kernel ignores
        # trailing padding, so stop at the first garbage.
        d = zlib_all(data)
        return d
    if fmt in ("xz", "lzma"):
        return lzma.decompress(data, format=lzma.FORMAT_AUTO)
    if fmt == "bzip2":
        import bz2

        return bz2.decompress(data)
    cmd = {"zstd": ["zstd", "-dcq"], "lz4": ["lz4", "-dcq"]}[fmt]
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    return p.stdout


def zlib_all(data):
    import zlib

    out = []
    while data[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(d.decompress(data))
        data = d.unused_data.lstrip(b"\x00")
    return b"".join(out)


def image_info(path):
    """(compressed size, unpacked size, format) of an initramfs image."""
    with open(path, "rb") as f:
        data = f.read()
    off, unpacked, fmts = 0, 0, []
    while off < len(data):
        while off < len(data) and data[off] == 0:
            off += 1
        if off >= len(data):
            break
        head = data[off : off + 6]
        if head in (b"070701", b"070702"):
            end = cpio_end(data, off)
            unpacked += end - off
            fmts.append("cpio")
            off = end
            continue
        fmt = next((name for magic, name in MAGICS if data[off:].startswith(magic)), None)
        if fmt is None:
            fmts.append("?")
            break
        unpacked += len(decompress(fmt, data[off:]))
        fmts.append(fmt)
        break
    return len(data), unpacked, "+".join(fmts)


# --- statistics -------------------------------------------------------------------


def median(xs):
    return statistics.median(xs) if xs else None


def fmt_ms(x):
    if x is None:
        return "–"
    return "%.0f" % x if x >= 100 else "%.1f" % x


def fmt_size(n):
    if n is None:
        return "–"
    if n >= 1 << 20:
        return "%.1f MiB" % (n / (1 << 20))
    return "%.0f KiB" % (n / 1024) if n >= 10 * 1024 else "%.1f KiB" % (n / 1024)


def cfg_name(machine, smp):
    return machine if smp == 1 else "%s -smp %d" % (machine, smp)


def persistence(groups):
    """Whether a token written to /home in boot k was read in boot k+1 (same
    system and machine), over every machine."""
    errors, pairs, kept = set(), 0, 0
    for boots in groups:
        boots = sorted((b for b in boots if b["ok"]), key=lambda b: b["round"])
        errors |= {b["write_error"] for b in boots if b["write_error"]}
        for a, b in zip(boots, boots[1:]):
            if b["round"] != a["round"] + 1 or not a["wrote"]:
                continue
            pairs += 1
            kept += b["read"] == a["wrote"]
    if errors:
        return "no: write failed (%s)" % ", ".join(sorted(errors))
    if pairs == 0:
        return "? (needs 2 boots)"
    if kept == pairs:
        return "yes (%d/%d reboots)" % (kept, pairs)
    if kept == 0:
        return "no: lost at reboot (%d/%d)" % (pairs - kept, pairs)
    return "partly (%d/%d reboots)" % (kept, pairs)


def root_kind(boots):
    kinds = sorted({"%s %s" % b["root"] for b in boots if b["ok"] and b["root"]})
    if not kinds:
        return "?"
    if all(k.startswith("overlay") for k in kinds):
        return "overlay"
    return "no: " + ", ".join(kinds)


# --- the report -------------------------------------------------------------------


def build(out_dir, report_path, chart_path):
    meta = read_meta(os.path.join(out_dir, "meta.txt"))
    rows = read_results(os.path.join(out_dir, "results.tsv"))
    for r in rows:
        parse_boot(r, out_dir)

    systems = OrderedDict()  # name -> (image, args, desc)
    for s in meta.get("sys", []):
        name, image, args, desc = (s.split("\t") + ["", "", ""])[:4]
        systems[name] = (image, args, desc)
    configs = []
    for c in meta.get("config", []):
        m, smp, _n = c.split()
        configs.append((m, int(smp)))

    images = {}
    for name, (image, _, _) in systems.items():
        if image in images:
            continue
        path = os.path.join(out_dir, "img", image + ".img")
        fail = os.path.join(out_dir, "img", image + ".fail")
        if os.path.exists(path):
            try:
                images[image] = image_info(path)
            except Exception as e:  # a size we cannot compute is not fatal
                images[image] = (os.path.getsize(path), None, "? (%s)" % e)
        elif os.path.exists(fail):
            images[image] = ("fail", open(fail, encoding="utf-8", errors="replace").read().strip())
        else:
            images[image] = ("fail", "not built")

    by = defaultdict(list)
    for r in rows:
        by[(r["sys"], r["machine"], r["smp"])].append(r)

    md = []
    w = md.append
    w("# Benchmarks: overinit and the initramfs generators people use today")
    w("")
    w("Generated by `bench/boot.sh` (do not edit by hand; rerun it, or")
    w("`bench/boot.sh --report` to redraw from the last run). Chart:")
    w("[`bench/chart.svg`](bench/chart.svg).")
    w("")
    w("![ms in the initramfs and image size per system](bench/chart.svg)")
    w("")
    w("## How it was run")
    w("")
    w("```")
    w(one(meta, "command"))
    w("```")
    w("")
    w("| | |")
    w("|---|---|")
    w("| date | %s |" % one(meta, "date"))
    w("| CPU | %s, `nproc` = %s |" % (one(meta, "cpu"), one(meta, "nproc")))
    w("| QEMU | %s, TCG (no KVM) |" % one(meta, "qemu"))
    w("| guest kernel | `/boot/vmlinuz-%s` (host runs %s) |" % (one(meta, "kernel"), one(meta, "host_kernel")))
    w("| source | overinit commit %s |" % one(meta, "commit"))
    w("| load average | %s at start, %s at end (other work shared the 2 cores: figures are noisy) |"
      % (one(meta, "load_start"), one(meta, "load_end")))
    stopped = "; stopped early " + one(meta, "stopped") if meta.get("stopped") else ""
    w("| boots | %d, %s s of wall time%s |" % (len(rows), one(meta, "wall_total"), stopped))
    pk = ", ".join("%s %s" % tuple(p.split("\t")) for p in meta.get("pkg", []) if not p.endswith("\t-"))
    w("| packages | %s |" % pk)
    w("")
    w("Every boot: `qemu-system-x86_64 -machine M -accel tcg -m %s -smp S -nographic -monitor none "
      "-serial file:LOG -no-reboot -nic none -kernel K -initrd IMAGE -drive file=root.img,if=virtio,"
      "format=raw,readonly=on -drive file=state.img,if=virtio,format=raw -append \"%s ARGS\"` under "
      "`timeout %s`. root.img is ext4 with the probe (`probe/`) as `/sbin/init`; state.img is ext4 with "
      "an empty `home/`, a fresh copy for each system and machine (peers do not know `overinit.state=`, "
      "so for them it is only attached). The probe writes `overinit-probe: start` to /dev/kmsg first; "
      "**ms in initramfs** is that record's timestamp minus the kernel's `Run /init as init process` "
      "(both from /dev/kmsg, so serial speed does not enter). **QEMU wall** is the whole process: "
      "firmware, kernel, initramfs, the probe's report, power-off. Boots are interleaved (round 1 of "
      "every system, then round 2 …) so background load spreads evenly."
      % (one(meta, "mem"), one(meta, "base_args"), one(meta, "timeout")))
    w("")
    w("| system | ARGS | what it is |")
    w("|---|---|---|")
    for name, (image, args, desc) in systems.items():
        w("| %s | `%s` | %s |" % (name, args or "", desc))
    w("")

    # Table 1: ms in the initramfs per machine.
    cols = [cfg_name(m, s) for m, s in configs]
    w("## Time in the initramfs")
    w("")
    w("ms from `Run /init` to the real init's first instruction (its kmsg marker): median (min–max) over n boots.")
    w("")
    w("| system | " + " | ".join(cols) + " |")
    w("|---|" + "---:|" * len(cols))
    for name in systems:
        cells = []
        for m, s in configs:
            boots = by.get((name, m, s), [])
            ok = [b["ms"] for b in boots if b["ok"]]
            if not boots:
                cells.append("–")
            elif not ok:
                cells.append("did not boot")
            else:
                c = "**%s** (%s–%s) n=%d" % (fmt_ms(median(ok)), fmt_ms(min(ok)), fmt_ms(max(ok)), len(ok))
                if len(ok) < len(boots):
                    c += ", %d failed" % (len(boots) - len(ok))
                cells.append(c)
        w("| %s | %s |" % (name, " | ".join(cells)))
    w("")

    # Table 2: images and end state.
    w("## Images and what the real init sees")
    w("")
    w("Image size as the kernel gets it (compressed) and unpacked (the cpio archive(s) it holds). "
      "`/` is the fstype of the top mount on `/` in the probe's `/proc/self/mountinfo`. /home "
      "persists: the probe writes a boot-unique token to `/home/bench` (`probe.write=`) and reads it "
      "back in the next boot (`probe.read=`). QEMU wall: median seconds per boot.")
    w("")
    w("| system | image | unpacked | format | `/` | /home persists | " + " | ".join("wall " + c for c in cols) + " |")
    w("|---|---:|---:|---|---|---|" + "---:|" * len(cols))
    for name, (image, _, _) in systems.items():
        info = images.get(image)
        if info and info[0] == "fail":
            size_cells = ["not built", "", info[1][:80]]
        else:
            size_cells = [fmt_size(info[0]), fmt_size(info[1]), info[2]]
        allboots = [b for (s_, _, _), bs in by.items() if s_ == name for b in bs]
        groups = [by.get((name, m, s), []) for m, s in configs]
        persist = persistence(groups) if any(b["ok"] for g in groups for b in g) else "–"
        walls = []
        for m, s in configs:
            ok = [b["wall"] for b in by.get((name, m, s), []) if b["ok"]]
            walls.append("%.1f s" % median(ok) if ok else "–")
        w("| %s | %s | %s | %s | %s | %s | %s |" % (
            name, size_cells[0], size_cells[1], size_cells[2], root_kind(allboots) if allboots else "–",
            persist, " | ".join(walls)))
    w("")

    # overinit's breakdown.
    breakdown(w, by, configs)

    # Failures.
    w("## What failed, and why")
    w("")
    any_fail = False
    for image, info in images.items():
        if info and info[0] == "fail":
            any_fail = True
            w("- image **%s** was not built: %s" % (image, info[1]))
    for (name, m, s), bs in by.items():
        bad = [b for b in bs if not b["ok"]]
        if not bad:
            continue
        any_fail = True
        whys = OrderedDict()
        for b in bad:
            whys.setdefault(b["why"], []).append(b["round"])
        for why, rounds in whys.items():
            w("- **%s** on %s, boot %s: %s (log: `build/bench/%s`)" % (
                name, cfg_name(m, s), ",".join(map(str, rounds)), why,
                next(b["log"] for b in bad if b["round"] == rounds[0])))
    if not any_fail:
        w("Nothing: every image was built and every boot reached the probe.")
    w("")
    extra = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")
    if os.path.exists(extra):
        with open(extra, encoding="utf-8") as f:
            md.append(f.read().rstrip("\n"))
        w("")

    with open(report_path, "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    footer = "bench/boot.sh, %s; QEMU TCG, kernel %s, %s x %s; %d boots" % (
        one(meta, "date"), one(meta, "kernel"), one(meta, "cpu"), one(meta, "nproc"), len(rows))
    chart(chart_path, systems, configs, by, images, footer)


def breakdown(w, by, configs):
    w("## overinit: where its time goes")
    w("")
    w("From the `overinit-debug` boots (same image, `overinit.debug`): overinit's own clock per phase "
      "(`overinit: timing: …`, µs resolution, printed after the fact) and each `finit_module` "
      "(`overinit: module NAME … ms`). Medians over the boots. The debug lines cost serial time "
      "(~11 KB/s), which is why they are a separate boot set; *total (quiet)* is overinit's own clock "
      "in the normal `overinit` boots (the last field of its kmsg summary line), and *outside "
      "overinit* is ms in initramfs minus that: the kernel starting /init, execve of the real "
      "init, and the probe reaching its marker.")
    w("")
    dcfgs = [(m, s) for m, s in configs if any(b["ok"] and b["timing"] for b in by.get(("overinit-debug", m, s), []))]
    if not dcfgs:
        w("(no `overinit-debug` boots in this run)")
        w("")
        return
    phases = []
    modules = []
    for m, s in dcfgs:
        for b in by[("overinit-debug", m, s)]:
            if b["ok"] and b["timing"]:
                for k in b["timing"]:
                    if k not in phases:
                        phases.append(k)
                for k in b["modules"]:
                    if k not in modules:
                        modules.append(k)
    cols = [cfg_name(m, s) for m, s in dcfgs]
    w("| ms (median) | " + " | ".join(cols) + " |")
    w("|---|" + "---:|" * len(cols))

    def med(m, s, f):
        xs = [f(b) for b in by[("overinit-debug", m, s)] if b["ok"] and b["timing"]]
        xs = [x for x in xs if x is not None]
        return median(xs)

    for k in phases:
        label = "phase " + k + (" (mounts)" if k in MOUNT_PHASES else "")
        w("| %s | %s |" % (label, " | ".join(fmt_ms(med(m, s, lambda b: b["timing"].get(k, 0.0))) for m, s in dcfgs)))
    for k in modules:
        w("| · finit_module %s | %s |" % (k, " | ".join(fmt_ms(med(m, s, lambda b: b["modules"].get(k))) for m, s in dcfgs)))

    def total(b):
        # overinit's own clock (kmsg summary, written after the switch);
        # the debug timing line is written before the switch's lap.
        return b["own_total"] if b["own_total"] is not None else sum(b["timing"].values())

    def finit(b):
        return sum(b["modules"].values())

    def mounts(b):
        return sum(v for k, v in b["timing"].items() if k in MOUNT_PHASES)

    def switch(b):
        return max(total(b) - sum(b["timing"].values()), 0.0)

    def own(b):
        return total(b) - finit(b) - mounts(b) - switch(b)

    w("| phase switch (pivot_root, emptying the initramfs, umount) = total − Σ phases above | %s |"
      % " | ".join(fmt_ms(med(m, s, switch)) for m, s in dcfgs))
    rows = [
        ("**total (debug boots)**, overinit's own clock to just before execve", total),
        ("Σ finit_module (kernel: module init, virtio PCI probe)", finit),
        ("Σ mount phases (kernel: mount(2))", mounts),
        ("**own overhead** = total − Σ finit − Σ mounts − switch", own),
        ("… of which `devices` (waiting for /dev/vda, reading superblocks)", lambda b: b["timing"].get("devices", 0.0)),
        ("… of which `modules` minus Σ finit (reading the list, opening files, debug lines)",
         lambda b: b["timing"].get("modules", 0.0) - finit(b)),
        ("ms in initramfs (debug boots)", lambda b: b["ms"]),
    ]
    for label, f in rows:
        w("| %s | %s |" % (label, " | ".join(fmt_ms(med(m, s, f)) for m, s in dcfgs)))
    quiet = []
    outside = []
    for m, s in dcfgs:
        bs = [b for b in by.get(("overinit", m, s), []) if b["ok"] and b["own_total"] is not None]
        quiet.append(fmt_ms(median([b["own_total"] for b in bs])) if bs else "–")
        outside.append(fmt_ms(median([b["ms"] - b["own_total"] for b in bs])) if bs else "–")
    w("| **total (quiet)**, `overinit` boots | %s |" % " | ".join(quiet))
    w("| outside overinit (ms in initramfs − total), `overinit` boots | %s |" % " | ".join(outside))
    w("")


# --- the chart ----------------------------------------------------------------------

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"]


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chart(path, systems, configs, by, images, footer):
    import math

    names = [n for n in systems if n != "overinit-debug"]
    cols = [cfg_name(m, s) for m, s in configs]
    ng = len(configs)
    bar_h, gap = 9, 10
    group_h = ng * bar_h + gap
    top, left = 58, 130
    panel_w, panel_gap = 360, 150
    height = top + len(names) * group_h + 50
    width = left + panel_w + panel_gap + panel_w + 30
    out = []
    o = out.append
    o('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">'
      % (width, height))
    o('<rect width="100%" height="100%" fill="white"/>')

    def axis(x0, lo, hi, label, ticks):
        """Log axis across panel_w covering lo..hi; ticks: (value, label) pairs."""
        o('<text x="%d" y="18" font-size="13" font-weight="bold">%s</text>' % (x0, esc(label)))
        ticks = [t for t in ticks if lo / 10 < t[0] < hi * 10]
        lo_l = min(math.log10(lo), math.log10(ticks[0][0]))
        hi_l = max(math.log10(hi), math.log10(ticks[-1][0]))
        if hi_l - lo_l < 1:
            hi_l = lo_l + 1

        def X(v):
            return x0 + (math.log10(max(v, 10 ** lo_l)) - lo_l) / (hi_l - lo_l) * panel_w

        for v, text in ticks:
            x = X(v)
            o('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (x, top - 6, x, height - 40))
            o('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>' % (x, height - 26, text))
        return X

    # Left: ms in the initramfs.
    vals = [b["ms"] for bs in by.values() for b in bs if b["ok"] and b["sys"] in names]
    lo, hi = (min(vals), max(vals)) if vals else (10, 1000)
    X = axis(left, lo, hi, "ms in the initramfs (median, min–max; log scale)",
             [(10, "10 ms"), (100, "100 ms"), (1000, "1 s"), (10000, "10 s"), (100000, "100 s")])
    for gi, name in enumerate(names):
        y0 = top + gi * group_h
        o('<text x="%d" y="%.1f" text-anchor="end" font-size="12">%s</text>' % (left - 8, y0 + ng * bar_h / 2 + 4, esc(name)))
        for ci, (m, s) in enumerate(configs):
            ok = [b["ms"] for b in by.get((name, m, s), []) if b["ok"]]
            y = y0 + ci * bar_h
            if not ok:
                if by.get((name, m, s)):
                    o('<text x="%d" y="%.1f" fill="#c00" font-size="9">did not boot (%s)</text>' % (left + 4, y + bar_h - 1, esc(cols[ci])))
                continue
            med = median(ok)
            o('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (left, y, X(med) - left, bar_h - 1, COLORS[ci % len(COLORS)]))
            o('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>' % (X(min(ok)), y + bar_h / 2, X(max(ok)), y + bar_h / 2))
            o('<text x="%.1f" y="%d" font-size="9">%s</text>' % (X(max(ok)) + 3, y + bar_h - 1, fmt_ms(med)))
    # Legend.
    lx = left
    for ci, c in enumerate(cols):
        o('<rect x="%d" y="30" width="10" height="10" fill="%s"/><text x="%d" y="39">%s</text>' % (lx, COLORS[ci % len(COLORS)], lx + 14, esc(c)))
        lx += 24 + 7 * len(c)

    # Right: image size.
    x0 = left + panel_w + panel_gap
    sizes = []
    for name in names:
        info = images.get(systems[name][0])
        if info and info[0] != "fail":
            sizes += [v for v in info[:2] if v]
    lo, hi = (min(sizes), max(sizes)) if sizes else (1e4, 1e8)
    X2 = axis(x0, lo, hi, "image size (log scale)",
              [(10 << 10, "10 KiB"), (100 << 10, "100 KiB"), (1 << 20, "1 MiB"), (10 << 20, "10 MiB"),
               (100 << 20, "100 MiB"), (1 << 30, "1 GiB")])
    o('<rect x="%d" y="30" width="10" height="10" fill="#444"/><text x="%d" y="39">compressed</text>' % (x0, x0 + 14))
    o('<rect x="%d" y="30" width="10" height="10" fill="#bbb"/><text x="%d" y="39">unpacked</text>' % (x0 + 100, x0 + 114))
    for gi, name in enumerate(names):
        y0 = top + gi * group_h
        o('<text x="%d" y="%.1f" text-anchor="end" font-size="12">%s</text>' % (x0 - 8, y0 + ng * bar_h / 2 + 4, esc(name)))
        info = images.get(systems[name][0])
        if not info or info[0] == "fail":
            o('<text x="%d" y="%d" fill="#c00" font-size="9">not built</text>' % (x0 + 4, y0 + bar_h))
            continue
        for k, (v, color) in enumerate(zip(info[:2], ("#444", "#bbb"))):
            if not v:
                continue
            y = y0 + k * bar_h * ng / 2
            h = bar_h * ng / 2 - 1
            o('<rect x="%d" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' % (x0, y, X2(v) - x0, h, color))
            o('<text x="%.1f" y="%.1f" font-size="9">%s</text>' % (X2(v) + 3, y + h - 1, fmt_size(v)))
    o('<text x="%d" y="%d" fill="#777" font-size="10">%s</text>' % (left, height - 8, esc(footer)))
    o("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="build/bench of the run")
    ap.add_argument("--report", required=True, help="markdown to write")
    ap.add_argument("--chart", required=True, help="SVG to write")
    a = ap.parse_args()
    build(a.out, a.report, a.chart)
    print("wrote %s and %s" % (a.report, a.chart), file=sys.stderr)


if __name__ == "__main__":
    main()
