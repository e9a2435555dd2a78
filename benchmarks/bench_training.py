"""Training (and transform) throughput of skdae against peer implementations.

Reference workload
------------------
MNIST, N = 60 000 rows x d = 784 pixels, float32 in [0, 1]. Tied-weight sigmoid
denoising autoencoder with h = 500 hidden units::

    x~    = x * (u >= nu),  u ~ U(0,1), nu = 0.25   (masking noise, fresh per minibatch)
    H     = sigmoid(x~ W^T + b)                      W: (h, d), b: (h,)
    x^    = sigmoid(H W + c)                         tied decoder, c: (d,)
    loss  = (1/B) sum_rows sum_pixels CE(x^, x)     cross-entropy vs the CLEAN x

plain SGD, learning rate 0.1, shuffled minibatches of B = 20 and B = 256.

FLOPs per epoch = 10 N d h (= 2.35e11 for MNIST)
-------------------------------------------------
Per minibatch of B rows, counting a multiply-add as 2 FLOPs, every GEMM costs
2 B d h:

1. encode          A  = X~ W^T           (B,d)x(d,h)   2Bdh
2. decode          Z  = H W              (B,h)x(h,d)   2Bdh
3. backprop to H   dH = dZ W^T           (B,d)x(d,h)   2Bdh   (dZ = x^ - x for CE+sigmoid)
4. weight gradient of the tied W, decoder part  H^T dZ  (h,B)x(B,d)   2Bdh
5. weight gradient of the tied W, encoder part  dA^T X~ (h,B)x(B,d)   2Bdh
   (dA = dH * H * (1 - H); 4+5 can run as one GEMM [H;dA]^T [dZ;X~] with k = 2B)

Total 10 B d h per batch, i.e. 10 N d h per epoch. Element-wise work (noise,
sigmoids, bias sums, the W update) is O(B(d+h) + dh) per batch and not counted;
note that the W update (d h per batch) is NOT negligible in memory traffic at
B = 20 unless it is fused into the gradient GEMM (beta = 1).

Peers (each in its own subprocess; peers alternate across repeats)
------------------------------------------------------------------
skdae   DenoisingAutoencoder.partial_fit, one call per epoch
torch   hand-written tied DAE, nn.Parameter W,b,c + torch.optim.SGD +
        binary_cross_entropy_with_logits(sum)/B, float32, torch.set_num_threads
numpy   hand-written tied DAE in float32 numpy, preallocated buffers
mlp     sklearn MLPRegressor((500,), logistic, sgd) partial_fit on (X~, X):
        UNTIED, identity output, squared loss (loss column: CE of clipped output)
rbm     sklearn BernoulliRBM (PCD-1, not a DAE; loss column: mean-field
        reconstruction CE of its tied weights)
floor   the exact GEMMs of one epoch with numpy matmul(out=) -> s/epoch floor

Each worker loads the data once, warms up on a throwaway model (--warmup rows,
untimed), then times --epochs epochs of a fresh model individually and reports
per-epoch times, peak RSS (ru_maxrss), the peak RSS growth during the timed
epochs (VmHWM reset through /proc/self/clear_refs), the tracemalloc peak of the warm-up, and
the final clean reconstruction CE on the training set (mean over rows, summed
over pixels) so that a fast-but-wrong engine shows.

Two builds side by side (``--compare-python``)
----------------------------------------------
With ``--compare-python OTHER/bin/python`` the skdae worker also runs with that
interpreter (so with the skdae installed in its environment: another commit),
as a peer named "skdae B" placed right after skdae, so that the rotation of
the peers alternates the two builds (A B, then B A with ``--peers skdae``).
The tables gain a column "/ skdae B"; on the skdae row it is the ratio of the
two builds, measured in the same run.

Usage::

    python benchmarks/bench_training.py --quick
    python benchmarks/bench_training.py --batch-sizes 256 20 --epochs 2 --repeats 3
    python benchmarks/bench_training.py --mode transform
    python benchmarks/bench_training.py --peers skdae --compare-python OTHER/bin/python
"""

import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import _runner  # noqa: E402
from _runner import fmt  # noqa: E402

import _peers  # noqa: E402

ALL_PEERS = ["skdae", "torch", "numpy", "mlp", "rbm", "floor"]
TRANSFORM_PEERS = ["skdae", "numpy", "numpy_inplace", "torch", "floor"]
F64_PEERS = {"skdae", "numpy", "numpy_inplace", "floor"}
#: The skdae worker run with --compare-python's interpreter (build B).
SKDAE_B = "skdae B"
NOTES = {"mlp": "untied, squared loss; loss = CE of clipped output",
         "rbm": "PCD-1 RBM, not a DAE; loss = mean-field recon. CE",
         "floor": "GEMMs only (numpy matmul, out=)"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["train", "transform", "both"], default="train")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[20, 256])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--peers", default=",".join(ALL_PEERS),
                   help="comma list from %s (transform mode also: numpy_inplace)"
                   % ",".join(ALL_PEERS))
    p.add_argument("--n-samples", type=int, default=None)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n-hidden", type=int, default=500)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--noise", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warmup", type=int, default=2000, help="rows of the untimed warm-up")
    p.add_argument("--transform-calls", type=int, default=5,
                   help="timed transform calls per subprocess")
    p.add_argument("--quick", action="store_true",
                   help="10 000 samples, 1 epoch, 1 repeat")
    p.add_argument("--data-home", default=os.environ.get(
        "SKDAE_DATA", os.path.normpath(os.path.join(REPO, "..", "shared", "data", "mnist"))))
    p.add_argument("--loader", choices=["auto", "skdae", "private"], default="auto",
                   help="auto: skdae.datasets.fetch_mnist in the skdae worker only "
                   "(keeps skdae's BLAS out of the other peers' processes)")
    _runner.add_runner_arguments(p, compare_help="the skdae worker (a row '%s' and a "
                                 "column '/ %s')" % (SKDAE_B, SKDAE_B))
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.quick:
        a.n_samples = a.n_samples or 10000
        a.epochs, a.repeats = 1, 1
    return _runner.finish_runner_arguments(a)


# --------------------------------------------------------------------------
# parent side
# --------------------------------------------------------------------------
def run_one(args, mode, peer, batch_size, repeat):
    build = _runner.builds(args)[1 if peer == SKDAE_B else 0]
    cfg = _peers.worker_config(args, "skdae" if peer == SKDAE_B else peer, batch_size,
                               repeat, mode=mode)
    cmd = [build.python, os.path.abspath(__file__), "--worker", json.dumps(cfg)]
    env = _runner.worker_env(args, threads=args.threads, build=build,
                             data_home=args.data_home)
    res = _runner.run_worker(args, cmd, env)
    res["peer"] = peer
    _runner.check_worker_build(res, build)
    return res


def collect(args, mode, peers, batch_size, seen):
    results = {p: [] for p in peers}
    for r in range(args.repeats):
        order = peers[r % len(peers):] + peers[:r % len(peers)]
        for peer in order:
            res = run_one(args, mode, peer, batch_size, r)
            results[peer].append(res)
            if "error" in res:
                msg = res["error"]
            elif mode == "train":
                msg = "epochs " + " ".join("%.2f" % t for t in res["epoch_s"]) + " s"
                if res.get("loss") is not None:
                    msg += ", loss %.2f" % res["loss"]
            else:
                msg = "calls " + " ".join("%.3f" % t for t in res["call_s"]) + " s"
            if res.get("other_cores") is not None:
                msg += " [other procs: %.2f cores]" % res["other_cores"]
            label = "B=%-4d" % batch_size if mode == "train" else "xform "
            print("  %s rep %d %-13s %s" % (label, r, peer, msg), flush=True)
            _runner.print_threadpools(res, peer, seen)
            _runner.append_json(args, dict(res, batch_size=batch_size))
    return results


def summarize(results, key):
    rows = {}
    for peer, rs in results.items():
        ok = [r for r in rs if "error" not in r]
        if not ok:
            rows[peer] = {"error": rs[0]["error"] if rs else "not run"}
            continue
        ts = [t for r in ok for t in r[key]]
        losses = [r["loss"] for r in ok if r.get("loss") is not None]
        cpu = [t for r in ok for t in r.get(key.replace("_s", "_cpu_s"), [])]
        rows[peer] = {"med": statistics.median(ts),
                      "cpu": statistics.median(cpu) if cpu else None,
                      "min": min(ts), "max": max(ts),
                      "rss": max(r["peak_rss_mb"] for r in ok),
                      "growth": max((r.get("train_rss_growth_mb") for r in ok
                                     if r.get("train_rss_growth_mb") is not None),
                                    default=None),
                      "loss": statistics.median(losses) if losses else None,
                      "other": max((r.get("other_cores") or 0.0) for r in ok),
                      "ok": ok}
    return rows


def check_data(results):
    sums = {(tuple(r["data"]["shape"]), round(r["data"]["sum"], 0))
            for rs in results.values() for r in rs if "data" in r}
    if len(sums) > 1:
        print("  WARNING: peers saw different data: %s" % sorted(sums))


def build_b_column(args, rows):
    """The '/ skdae B' column of an A/B run: (cell function, header), or no column."""
    base = rows.get(SKDAE_B, {}).get("med")
    if not args.compare_python:
        return (lambda row: ""), ""
    return (lambda row: " %s |" % fmt(_runner.ratio(row.get("med"), base), ".3f"),
            " / %s |" % SKDAE_B)


def with_build_b(args, peers):
    """``peers`` with the skdae worker of --compare-python right after skdae's."""
    if not args.compare_python or "skdae" not in peers:
        return peers
    i = peers.index("skdae") + 1
    return peers[:i] + [SKDAE_B] + peers[i:]


def train_table(args, B, results):
    rows = summarize(results, "epoch_s")
    n = args.n_samples or 60000
    flops = 10.0 * n * 784 * args.n_hidden
    ref = rows.get("skdae", {}).get("med")
    floor = rows.get("floor", {}).get("med")
    b_col, b_head = build_b_column(args, rows)
    print("\n### batch size %d (%d samples, %d epoch(s) x %d repeat(s), %s, %d threads)\n"
          % (B, n, args.epochs, args.repeats, args.dtype, args.threads))
    print("| peer | s/epoch (median) | spread (min-max) | samples/s | / skdae | / floor "
          "| GFLOP/s | CPU s/epoch | peak RSS MB | train +MB | final loss | other load |"
          + b_head)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * bool(b_head))
    notes = []
    for peer, row in rows.items():
        if "error" in row:
            print("| %s: %s | | | | | | | | | | | |" % (peer, row["error"]) + " |" * bool(b_head))
            continue
        name = peer + ("*" if peer in NOTES else "")
        if peer in NOTES:
            notes.append("*%s: %s" % (peer, NOTES[peer]))
        print("| %s | %.3f | %.3f-%.3f | %s | %s | %s | %.0f | %s | %.0f | %s | %s | %.2f%s |" % (
            name, row["med"], row["min"], row["max"], format(int(n / row["med"]), ","),
            fmt(row["med"] / ref if ref else None, ".2f"),
            fmt(row["med"] / floor if floor else None, ".2f"),
            flops / row["med"] / 1e9, fmt(row["cpu"], ".2f"), row["rss"],
            fmt(row["growth"], ".0f"), fmt(row["loss"], ".2f"), row["other"],
            " !" if row["other"] > 0.25 else "") + b_col(row))
        if peer in ("skdae", SKDAE_B):
            for r in row["ok"]:
                chk = r.get("loss_check")
                if chk is not None and abs(chk - r["loss"]) > 1e-3 * abs(chk) + 1e-3:
                    print("  WARNING: skdae -score(X) = %.4f but loss from its weights = %.4f"
                          % (r["loss"], chk))
    print()
    for s in notes:
        print(s)
    if floor:
        fcpu = rows["floor"].get("cpu")
        if fcpu:
            print("GEMM floor by CPU time: %.3f CPU-s/epoch = %.1f GFLOP per CPU-second"
                  % (fcpu, flops / fcpu / 1e9))
        split = [r["split_epoch_s"] for r in rows["floor"]["ok"] if "split_epoch_s" in r]
        print("GEMM floor: %.3f s/epoch = %.1f GFLOP/s (10*N*d*h = %.3g FLOP)%s"
              % (floor, flops / floor / 1e9, flops,
                 "; with the tied gradient as two k=B GEMMs instead of one k=2B: %.3f s"
                 % statistics.median(split) if split else ""))
    if b_head:
        print("/ %s = peer time divided by the time of the skdae worker run with %s: "
              "the A/B ratio of the two builds is the skdae row's" % (SKDAE_B,
                                                                    args.compare_python))
    print("GFLOP/s column = 10*N*d*h / (s/epoch); / skdae and / floor = peer time "
          "divided by skdae / floor time; CPU s/epoch = process CPU time (all its threads, "
          "incl. BLAS spin-waits; with --threads 1 a load-robust estimate); peak RSS = "
          "the worker's lifetime peak (data loading and the final loss included); "
          "train +MB = peak RSS during the timed epochs above the RSS before them "
          "(model, optimizer state, work buffers, temporaries); other load = max cores "
          "used by other processes during that peer's runs ('!' = timings disturbed).")
    check_data(results)


def transform_table(args, results):
    rows = summarize(results, "call_s")
    n = args.n_samples or 60000
    flops = 2.0 * n * 784 * args.n_hidden
    ref = rows.get("skdae", {}).get("med")
    floor = rows.get("floor", {}).get("med")
    b_col, b_head = build_b_column(args, rows)
    print("\n### transform of %d rows (%s, %d threads, median of %d calls x %d repeats)\n"
          % (n, args.dtype, args.threads, args.transform_calls, args.repeats))
    print("| peer | s (median) | spread (min-max) | rows/s | GFLOP/s | / skdae | / floor "
          "| out dtype | sum(H) | other load |" + b_head)
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|" + "---:|" * bool(b_head))
    for peer, row in rows.items():
        if "error" in row:
            print("| %s: %s | | | | | | | | | |" % (peer, row["error"]) + " |" * bool(b_head))
            continue
        r0 = row["ok"][0]
        print("| %s | %.4f | %.4f-%.4f | %s | %.0f | %s | %s | %s | %.6g | %.2f |" % (
            peer, row["med"], row["min"], row["max"], format(int(n / row["med"]), ","),
            flops / row["med"] / 1e9, fmt(row["med"] / ref if ref else None, ".2f"),
            fmt(row["med"] / floor if floor else None, ".2f"), r0.get("out_dtype"),
            r0.get("checksum", float("nan")), row["other"]) + b_col(row))
    print("\nfloor = np.matmul(X, W.T, out=H) only (%dx784 @ 784x%d); sum(H) of floor is "
          "of the pre-activations." % (n, args.n_hidden))
    check_data(results)


def machine_info(args):
    _runner.print_machine(args, __file__)
    print("threads per worker: %d (OMP/OPENBLAS/MKL_NUM_THREADS, torch.set_num_threads)"
          % args.threads)
    print("data: %s (loader %s)" % (args.data_home, args.loader))


def main(argv=None):
    args = parse_args(argv)
    if args.worker is not None:
        _peers.main_worker(args.worker)
        return
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    machine_info(args)
    seen = set()
    if args.mode in ("train", "both"):
        tpeers = [p for p in peers if p in ALL_PEERS]
        unknown = [p for p in peers if p not in ALL_PEERS and p not in TRANSFORM_PEERS]
        if unknown:
            sys.exit("unknown peers: %s" % unknown)
        if args.dtype == "float64":
            for p in [p for p in tpeers if p not in F64_PEERS]:
                print("%s: skipped (float64 runs only skdae, numpy, floor)" % p)
            tpeers = [p for p in tpeers if p in F64_PEERS]
        tpeers = with_build_b(args, tpeers)
        for B in args.batch_sizes:
            print("\n== training, batch size %d ==" % B, flush=True)
            res = collect(args, "train", tpeers, B, seen)
            train_table(args, B, res)
    if args.mode in ("transform", "both"):
        xpeers = [p for p in peers if p in TRANSFORM_PEERS]
        if args.mode == "both" or args.peers == ",".join(ALL_PEERS):
            xpeers = [p for p in TRANSFORM_PEERS if p in peers or p == "numpy_inplace"]
        if args.dtype == "float64":
            xpeers = [p for p in xpeers if p in F64_PEERS]
        xpeers = with_build_b(args, xpeers)
        print("\n== transform ==", flush=True)
        seen = set()
        res = collect(args, "transform", xpeers, args.batch_sizes[0], seen)
        transform_table(args, res)


if __name__ == "__main__":
    main()
