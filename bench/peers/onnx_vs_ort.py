#!/usr/bin/env python3
"""ONNX files side by side: ONNX Runtime Java 1.29 and vlstm-onnx (bench's OnnxBench) run the SAME single-LSTM-node
models (bench/peers/onnxruntime-java/export_models.py: torch 1.13 nn.LSTM exported, workloads S, M, L, stream),
interleaved in one run on this machine; LstmBench's infer rows (the engine without ONNX) run in the same JMH JVM.

Run from the project root after `./mvnw -q install -DskipTests`:
    bench/peers/onnx_vs_ort.py                 # 2 rounds, threads 1 and 2
    bench/peers/onnx_vs_ort.py --rounds 1 --only S
Both sides pay what a Java user pays: ONNX Runtime its JNI call and its fastest Java path (direct buffers,
pinned outputs); vlstm-onnx wraps the input as a Tensor and returns every output as new arrays.
Reported: medians (ORT: of its per-round medians; vlstm: of every measured JMH iteration); ratio = vlstm / ORT.
"""
import argparse, json, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import cpu, run_ort  # noqa: E402

JMH = {"S": "onnxS", "M": "onnxM", "L": "onnxL", "stream": "onnxStream"}
ENGINE = {"S": "inferS", "M": "inferM", "L": "inferL", "stream": "inferStream"}


def run_vlstm(java, jar, models, threads, only, log, jfile):
    names = "|".join(JMH[s] for s in only) + "|" + "|".join(ENGINE[s] for s in only)
    args = [java, "--add-modules", "jdk.incubator.vector", "-jar", jar, f"(OnnxBench|LstmBench)\\.({names})$",
            "-f", "1", "-wi", "3", "-i", "5", "-p", f"threads={threads}", "-jvmArgsAppend", f"-Dvlstm.onnxModels={models}",
            "-rf", "json", "-rff", jfile]
    with open(log, "w") as f:
        rc = subprocess.run(args, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        sys.exit(f"JMH failed (exit {rc}); see {log}")
    raw = {}
    for b in json.load(open(jfile)):
        raw[b["benchmark"].rsplit(".", 1)[1]] = [x for fork in b["primaryMetric"]["rawData"] for x in fork]
    return raw


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default="S,M,L,stream")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--jdk", default=os.environ.get("JAVA_HOME", ""))
    ap.add_argument("--out", default="/tmp/vlstm-onnx-vs-ort")
    a = ap.parse_args()
    only = a.only.split(",")
    jar = os.path.abspath("bench/target/benchmarks.jar")
    if not os.path.isfile(jar):
        sys.exit("no bench/target/benchmarks.jar here: run from the project root after ./mvnw -q install -DskipTests")
    java = os.path.join(a.jdk, "bin", "java") if a.jdk else "java"
    jver = subprocess.run([java, "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    b = subprocess.run([os.path.join(HERE, "onnxruntime-java", "build.sh")], capture_output=True, text=True)
    if b.returncode != 0:
        sys.exit("ONNX Runtime peer: " + b.stderr.strip())
    ort = b.stdout.strip().splitlines()[-1]
    models = os.path.join(ort, "models")
    os.makedirs(a.out, exist_ok=True)
    threads = [int(t) for t in a.threads.split(",")]
    orr = {t: {} for t in threads}; vl = {t: {} for t in threads}
    t0 = time.time()
    for r in range(a.rounds):
        for t in threads:
            print(f"round {r + 1}/{a.rounds}, threads {t}: ONNX Runtime ...", file=sys.stderr, flush=True)
            for k, v in run_ort(ort, java, t, only, f"{a.out}/ort_r{r}_t{t}.txt").items():
                orr[t].setdefault(k[0], []).append(v)
            print(f"round {r + 1}/{a.rounds}, threads {t}: vlstm-onnx ...", file=sys.stderr, flush=True)
            for k, v in run_vlstm(java, jar, models, t, only, f"{a.out}/vlstm_r{r}_t{t}.txt",
                                  f"{a.out}/vlstm_r{r}_t{t}.json").items():
                vl[t].setdefault(k, []).extend(v)
    print(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu()}; {jver}; {a.rounds} round(s), "
          f"{time.time() - t0:.0f} s; models {models}")
    print("| workload | threads | ONNX Runtime Java timesteps/s | vlstm-onnx timesteps/s | ratio vlstm-onnx / ORT | engine alone (LstmBench) timesteps/s |")
    print("|---|---|---|---|---|---|")
    worst = None
    for t in threads:
        for s in only:
            if s not in orr[t] or JMH[s] not in vl[t]:
                continue
            o = statistics.median(orr[t][s]); v = statistics.median(vl[t][JMH[s]])
            e = statistics.median(vl[t][ENGINE[s]]) if ENGINE[s] in vl[t] else float("nan")
            cell = lambda x: f"{x:,.0f}" + (f" ({1e6 / x:.1f} µs)" if s == "stream" else "")
            ratio = v / o
            worst = ratio if worst is None else min(worst, ratio)
            print(f"| {s} | {t} | {cell(o)} | {cell(v)} | {ratio:.2f}× | {cell(e)} |")
    print(f"\nworst ratio {worst:.2f}×  (raw logs in {a.out})")


if __name__ == "__main__":
    main()
