#!/usr/bin/env python3
"""Side-by-side: vlstm's JMH LstmBench against the native CPU LSTMs a JVM user could pick instead, on THIS
machine, interleaved in one run, so that the ratio holds even though absolute figures drift on a shared VM.
Peers: oneDNN 2.6.3's LSTM (C++, Debian libdnnl; infer and train) and ONNX Runtime Java 1.29's LSTM operator
(Maven com.microsoft.onnxruntime; infer only; direct buffers, outputs pinned: its fastest Java path).

Run from the project root after `./mvnw -q install -DskipTests` (it uses bench/target/benchmarks.jar):
    bench/peers/compare.py                      # 2 rounds, threads 1 and 2, JDK of $JAVA_HOME or `java`
    bench/peers/compare.py --rounds 1 --only S  # quick look at one workload
    bench/peers/compare.py --jdk /usr/lib/jvm/temurin-25-jdk-amd64 --out /tmp/cmp25
Needs g++, libdnnl-dev and python3-torch (apt-get install -y g++ libdnnl-dev python3-torch). ~5 min per round.

Each round runs, for threads = 1 then 2: oneDNN (all workloads), ONNX Runtime (inference workloads, one JVM
each), then vlstm (JMH, 1 fork, 3x1 s warm-up, 5x1 s measurement). Reported per row: a peer = median of its
per-round medians; vlstm = median of every measured JMH iteration of all rounds; ratio = vlstm / the best
peer of that row in timesteps/s (>1: vlstm is faster; for stream the latency is shown too); % peak = gate-GEMM GFLOP/s (2*4H*(I+H) per timestep, x3 for train) against
FmaPeak measured in the same run (per core x threads). Raw logs and JMH JSON stay in --out.
"""
import argparse, json, os, platform, re, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = {"S": (28, 128, 28, 64), "M": (32, 64, 256, 256), "L": (32, 64, 512, 512), "stream": (1, 1, 256, 256)}
ROWS = [("S", "infer"), ("S", "train"), ("M", "infer"), ("M", "train"), ("L", "infer"), ("L", "train"), ("stream", "infer")]
JMH_NAME = {("S", "infer"): "inferS", ("M", "infer"): "inferM", ("L", "infer"): "inferL", ("stream", "infer"): "inferStream",
            ("S", "train"): "trainS", ("M", "train"): "trainM", ("L", "train"): "trainL"}


def cpu():
    fam = model = name = "?"
    for line in open("/proc/cpuinfo"):
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k == "cpu family": fam = v
        elif k == "model": model = v
        elif k == "model name": name = v
        if k == "flags": break
    kind = {"25": "Zen 4", "26": "Zen 5"}.get(fam, "family " + fam)
    return f"{name}, CPU family {fam} model {model} ({kind}), {os.cpu_count()} CPUs"


def run_onednn(binary, threads, only, log):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    args = [binary, "--quiet-fmt", "--min-time", "2", "--min-iters", "7", "--only", ",".join(only)]
    out = subprocess.run(args, env=env, capture_output=True, text=True).stdout
    open(log, "w").write(out)
    res = {}
    for m in re.finditer(r"RESULT shape=(\S+)\s+mode=(\S+) threads=\d+ .*?timesteps/s median (\S+)", out):
        res[(m.group(1), m.group(2))] = float(m.group(3))
    return res


def run_ort(folder, java, threads, only, log):
    res = {}
    cp = os.path.join(folder, "target", "classes") + ":" + open(os.path.join(folder, "target", "cp.txt")).read().strip()
    with open(log, "a") as f:
        for shape in only:
            out = subprocess.run([java, "-cp", cp, "peers.OrtLstmBench", "--dir", folder, "--shape", shape,
                                  "--threads", str(threads)], capture_output=True, text=True)
            f.write(out.stdout + out.stderr)
            for line in out.stdout.splitlines():
                if line.startswith("{"):
                    res[(shape, "infer")] = json.loads(line)["ts_per_s_median"]
    return res


def run_vlstm(java, jar, threads, only, log, jfile):
    names = "|".join(JMH_NAME[r] for r in ROWS if r[0] in only)
    args = [java, "--add-modules", "jdk.incubator.vector", "-jar", jar, f"LstmBench\\.({names})$|FmaPeak",
            "-f", "1", "-wi", "3", "-i", "5", "-p", f"threads={threads}", "-rf", "json", "-rff", jfile]
    with open(log, "w") as f:
        rc = subprocess.run(args, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        sys.exit(f"JMH failed (exit {rc}); see {log}")
    raw, peak = {}, []
    for b in json.load(open(jfile)):
        its = [x for fork in b["primaryMetric"]["rawData"] for x in fork]
        name = b["benchmark"].rsplit(".", 1)[1]
        if name == "fma":
            peak += its
        else:
            raw[name] = its
    return raw, peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default="S,M,L,stream")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--jdk", default=os.environ.get("JAVA_HOME", ""))
    ap.add_argument("--out", default="/tmp/vlstm-compare")
    ap.add_argument("--peers", default="onednn,ort", help="onednn (always) plus ort: onednn,ort (default) or onednn")
    a = ap.parse_args()
    only = a.only.split(",")
    jar = os.path.abspath("bench/target/benchmarks.jar")
    if not os.path.isfile(jar):
        sys.exit("no bench/target/benchmarks.jar here: run from the project root after ./mvnw -q install -DskipTests")
    java = os.path.join(a.jdk, "bin", "java") if a.jdk else "java"
    jver = subprocess.run([java, "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    binary = subprocess.run([os.path.join(HERE, "onednn", "build.sh")], capture_output=True, text=True)
    if binary.returncode != 0:
        sys.exit(binary.stderr.strip())
    binary = binary.stdout.strip().splitlines()[-1]
    peers = a.peers.split(",")
    ort = None
    if "ort" in peers:
        b = subprocess.run([os.path.join(HERE, "onnxruntime-java", "build.sh")], capture_output=True, text=True)
        if b.returncode != 0:
            sys.exit("ONNX Runtime peer: " + b.stderr.strip() + "  (or run with --peers onednn)")
        ort = b.stdout.strip().splitlines()[-1]
    os.makedirs(a.out, exist_ok=True)
    threads = [int(t) for t in a.threads.split(",")]
    dnn = {t: {} for t in threads}; orr = {t: {} for t in threads}; vl = {t: {} for t in threads}; peaks = []
    t0 = time.time()
    for r in range(a.rounds):
        for t in threads:
            print(f"round {r + 1}/{a.rounds}, threads {t}: oneDNN ...", file=sys.stderr, flush=True)
            for k, v in run_onednn(binary, t, only, f"{a.out}/onednn_r{r}_t{t}.txt").items():
                dnn[t].setdefault(k, []).append(v)
            if ort:
                print(f"round {r + 1}/{a.rounds}, threads {t}: ONNX Runtime ...", file=sys.stderr, flush=True)
                for k, v in run_ort(ort, java, t, only, f"{a.out}/ort_r{r}_t{t}.txt").items():
                    orr[t].setdefault(k, []).append(v)
            print(f"round {r + 1}/{a.rounds}, threads {t}: vlstm ...", file=sys.stderr, flush=True)
            raw, pk = run_vlstm(java, jar, t, only, f"{a.out}/vlstm_r{r}_t{t}.txt", f"{a.out}/vlstm_r{r}_t{t}.json")
            peaks += pk
            for k, v in raw.items():
                vl[t].setdefault(k, []).extend(v)
    peak = statistics.median(peaks) if peaks else float("nan")
    print(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu()}; {jver}; {a.rounds} round(s), "
          f"{time.time() - t0:.0f} s; FMA peak per core (FmaPeak, same run) {peak / 1e9:.1f} GFLOP/s")
    print("| workload | mode | threads | oneDNN timesteps/s | ONNX Runtime timesteps/s | vlstm timesteps/s | ratio vlstm / best peer | vlstm % of FMA peak |")
    print("|---|---|---|---|---|---|---|---|")
    worst = None
    for t in threads:
        for row in ROWS:
            if row[0] not in only or row not in dnn[t] or JMH_NAME[row] not in vl[t]:
                continue
            d = statistics.median(dnn[t][row]); v = statistics.median(vl[t][JMH_NAME[row]])
            o = statistics.median(orr[t][row]) if row in orr[t] else None
            best = max(d, o or 0)
            T, B, I, H = SHAPES[row[0]]
            flops = 2 * 4 * H * (I + H) * (3 if row[1] == "train" else 1)
            pct = 100 * v * flops / (peak * t)
            ratio = v / best
            worst = ratio if worst is None else min(worst, ratio)
            cell = lambda x: f"{x:,.0f}" + (f" ({1e6 / x:.1f} µs)" if row[0] == "stream" else "")
            print(f"| {row[0]} | {row[1]} | {t} | {cell(d)} | {cell(o) if o else '–'} | {cell(v)} | {ratio:.2f}× | {pct:.0f} % |")
    print(f"\nworst ratio {worst:.2f}× against the best peer of each row  (raw logs in {a.out})")


if __name__ == "__main__":
    main()
