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

Two builds of skdae are compared with ``bench_ab.py`` (the one A/B tool).

Usage::

    python benchmarks/bench_training.py --quick
    python benchmarks/bench_training.py --batch-sizes 256 20 --epochs 2 --repeats 3
    python benchmarks/bench_training.py --mode transform
    python benchmarks/bench_training.py --json training.json   # the table for run.py
"""

import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import _peers  # noqa: E402
import _runner  # noqa: E402

ALL_PEERS = ["skdae", "torch", "numpy", "mlp", "rbm", "floor"]
TRANSFORM_PEERS = ["skdae", "numpy", "numpy_inplace", "torch", "floor"]
F64_PEERS = {"skdae", "numpy", "numpy_inplace", "floor"}
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
    # --data-home digits: scikit-learn's digits instead of MNIST (run.py --smoke)
    _runner.add_runner_arguments(p)
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
    cfg = _peers.worker_config(args, peer, batch_size, repeat, mode=mode)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(cfg)]
    env = _runner.worker_env(args, threads=args.threads, data_home=args.data_home)
    res = _runner.run_worker(args, cmd, env)
    res["peer"] = peer
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


#: What a peer that is not installed needs.
INSTALL = {"torch": "not installed (`pip install torch`, the `benchmark` extra)"}


def _rows(args, rows, work, extra):
    """Table rows of ``summarize``'s output: peer, measures, ratios to skdae
    and to the floor; a peer that did not run gets its reason."""
    ref = rows.get("skdae", {}).get("med")
    floor = rows.get("floor", {}).get("med")
    out = []
    for peer, row in rows.items():
        if "error" in row:
            why = INSTALL.get(peer, "") if "not importable" in row["error"] else ""
            out.append([peer] + extra + [why or row["error"]] + [None] * 6)
            continue
        out.append([peer + ("*" if peer in NOTES else "")] + extra + [
            round(row["med"], 3), "%.3f-%.3f" % (row["min"], row["max"]),
            round(row["med"] / ref, 2) if ref else None,
            round(row["med"] / floor, 2) if floor else None,
            round(work / row["med"] / 1e9), row.get("growth") and round(row["growth"]),
            row["loss"] and round(row["loss"], 2)])
        if peer == "skdae":
            for r in row["ok"]:
                chk = r.get("loss_check")
                if chk is not None and abs(chk - r["loss"]) > 1e-3 * abs(chk) + 1e-3:
                    print("  WARNING: skdae -score(X) = %.4f but loss from its weights = %.4f"
                          % (r["loss"], chk))
        if row["other"] > args.quiet_cores:
            print("  WARNING: other processes used %.2f cores while %s ran" % (row["other"],
                                                                            peer))
    return out


def train_table(args, per_batch):
    """One table of every batch size's rows (also printed)."""
    rows, shape = [], None
    for B, results in per_batch.items():
        summary = summarize(results, "epoch_s")
        shape = shape or next((r["data"]["shape"] for rs in results.values() for r in rs
                               if "data" in r), None)
        n, d = shape or (args.n_samples or 60000, 784)
        rows += _rows(args, summary, 10.0 * n * d * args.n_hidden, [B])
        check_data(results)
    n, d = shape or (args.n_samples or 60000, 784)
    data = "%s (%d × %d, %d hidden units, %d threads)" % (
        "digits" if args.data_home == "digits" else "MNIST", n, d, args.n_hidden, args.threads)
    t = _runner.table(
        "training", "Training speed: seconds per epoch of a tied DAE on %s, %s (median of "
        "%d epoch(s) × %d repeat(s))" % (data, args.dtype, args.epochs, args.repeats),
        ["peer", "batch", "s/epoch", "spread", "/ skdae", "/ floor", "GFLOP/s", "train +MB",
         "final loss"], rows,
        ["\\*" + "; ".join("%s: %s" % kv for kv in NOTES.items() if kv[0] in results)
         + ". / skdae, / floor: "
         "the peer's time over skdae's and over the floor's, same run; GFLOP/s: 10·N·d·h "
         "per epoch over the time; train +MB: peak RSS during the timed epochs above the "
         "RSS before them; final loss: clean reconstruction cross-entropy on the training "
         "set (mean over rows, summed over features)."])
    print("\n" + _runner.markdown(t))
    return t, data


def transform_table(args, results):
    rows = summarize(results, "call_s")
    n = args.n_samples or 60000
    t = _runner.table(
        "transform", "transform of %d rows (%s, %d threads, median of %d calls x %d repeats)"
        % (n, args.dtype, args.threads, args.transform_calls, args.repeats),
        ["peer", "s", "spread", "/ skdae", "/ floor", "GFLOP/s"],
        [r[:-2] for r in _rows(args, rows, 2.0 * n * 784 * args.n_hidden, [])],
        ["floor = np.matmul(X, W.T, out=H) only."])
    print("\n" + _runner.markdown(t))
    check_data(results)
    return t


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
    seen, tables, extra = set(), [], {}
    if args.mode in ("train", "both"):
        tpeers = [p for p in peers if p in ALL_PEERS]
        unknown = [p for p in peers if p not in ALL_PEERS and p not in TRANSFORM_PEERS]
        if unknown:
            sys.exit("unknown peers: %s" % unknown)
        if args.dtype == "float64":
            for p in [p for p in tpeers if p not in F64_PEERS]:
                print("%s: skipped (float64 runs only skdae, numpy, floor)" % p)
            tpeers = [p for p in tpeers if p in F64_PEERS]
        per_batch = {}
        for B in args.batch_sizes:
            print("\n== training, batch size %d ==" % B, flush=True)
            per_batch[B] = collect(args, "train", tpeers, B, seen)
        t, data = train_table(args, per_batch)
        tables.append(t)
        extra = {"workload": data}
    if args.mode in ("transform", "both"):
        xpeers = [p for p in peers if p in TRANSFORM_PEERS]
        if args.mode == "both" or args.peers == ",".join(ALL_PEERS):
            xpeers = [p for p in TRANSFORM_PEERS if p in peers or p == "numpy_inplace"]
        if args.dtype == "float64":
            xpeers = [p for p in xpeers if p in F64_PEERS]
        print("\n== transform ==", flush=True)
        seen = set()
        res = collect(args, "transform", xpeers, args.batch_sizes[0], seen)
        tables.append(transform_table(args, res))
    _runner.write_json(args.json, __file__, tables, **extra)


if __name__ == "__main__":
    main()
