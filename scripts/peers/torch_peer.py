#!/usr/bin/env python3
"""PyTorch peer of `node-tensorrt bench`.

Loads the same ONNX file, builds the equivalent torch.nn.Module with the same weights (onnx_to_torch.py), checks
its output against onnxruntime on the CPU once, then times it on the GPU the way a PyTorch user would deploy it:
channels_last, cudnn.benchmark=True, torch.inference_mode, in eager mode and as a replayed CUDA graph, or (mode
"compile") through torch.compile(mode="max-autotune"), whose compile time is reported, in FP16 (model.half()) and
FP32 (TF32 off, so FP32 means FP32). Each query copies a pinned FP32 input in, runs, and copies
the FP32 output back, with CUDA events between the steps; the host clock gives end-to-end latency.

With --nms SCORE,IOU,MAX the network's first output is a detector's raw boxes and scores ([B, 4 + C, N] as YOLOv8
exports it, or [B, N, 4 + C]; boxes cx, cy, w, h): each query then also decodes the boxes and runs
torchvision.ops.batched_nms per image, eagerly (its output size depends on the data, so it cannot be captured), after
the network (eager or replayed as a CUDA graph), into fixed-size results [B, MAX] copied back, and the compute time
covers both; this is the PyTorch side of an engine built with postprocess.nms.

Prints exactly one JSON object on stdout (progress goes to stderr):
  {"status": "ok" | "skipped" | "failed", "reason"?, "info": {...}, "check": {...},
   "runs": [{"mode", "precision", "batch", "walltimeMs", "warmUpQueries",
             "h2dMs": [...], "computeMs": [...], "d2hMs": [...], "e2eMs": [...], "compileMs"?}]}
Samples are raw per-query milliseconds; the caller computes the statistics, with the same definitions as for its
own results.
"""
import argparse
import json
import os
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def log(msg):
    print(f"[torch peer] {msg}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--onnx", required=True)
    p.add_argument("--batches", default="1,32,256")
    p.add_argument("--precisions", default="fp16")
    p.add_argument("--modes", default="eager,cudagraph", help="eager, cudagraph and/or compile (max-autotune)")
    p.add_argument("--warmup-ms", type=float, default=200.0)
    p.add_argument("--duration-s", type=float, default=3.0)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--no-transfers", action="store_true", help="time without the host<->device copies")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", type=int, default=0)
    p.add_argument("--check-only", action="store_true", help="convert and compare with onnxruntime on the CPU, no timing")
    p.add_argument("--nms", default="", help="SCORE,IOU,MAX: decode + torchvision batched_nms per image after the network")
    return p.parse_args(argv)


def parse_nms(spec):
    """(score threshold, IoU threshold, detections per image) from 'SCORE,IOU,MAX'."""
    parts = spec.split(",")
    if len(parts) != 3:
        raise ValueError(f"--nms expects SCORE,IOU,MAX but received '{spec}'")
    return float(parts[0]), float(parts[1]), int(parts[2])


def make_nms(torch, torchvision, score, iou, max_det):
    """The post-processing a PyTorch user writes for a YOLO-style output: per image, boxes cx, cy, w, h -> corners,
    every (box, class) pair above the score threshold a candidate, batched_nms per class, the best max_det kept, into
    fixed-size tensors (count [B], boxes [B, K, 4], scores [B, K], classes [B, K]) like the engine's NMS outputs."""

    def post(out):
        out = out.float()
        if out.shape[1] < out.shape[2]:  # [B, 4 + C, N] (YOLOv8) -> [B, N, 4 + C]
            out = out.transpose(1, 2)
        b = out.shape[0]
        num = torch.zeros(b, dtype=torch.int32, device=out.device)
        boxes_out = torch.zeros(b, max_det, 4, device=out.device)
        scores_out = torch.zeros(b, max_det, device=out.device)
        classes_out = torch.full((b, max_det), -1, dtype=torch.int32, device=out.device)
        for i in range(b):
            r = out[i]
            xy, wh = r[:, 0:2], r[:, 2:4]
            boxes = torch.cat([xy - wh * 0.5, xy + wh * 0.5], 1)
            bi, ci = (r[:, 4:] > score).nonzero(as_tuple=True)
            s = r[bi, ci + 4]
            keep = torchvision.ops.batched_nms(boxes[bi], s, ci, iou)[:max_det]
            n = int(keep.numel())
            num[i] = n
            boxes_out[i, :n] = boxes[bi[keep]]
            scores_out[i, :n] = s[keep]
            classes_out[i, :n] = ci[keep].to(torch.int32)
        return num, boxes_out, scores_out, classes_out

    return post


def rel_l2(a, b):
    import numpy as np

    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    denom = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else float(np.linalg.norm(a - b))


def input_shapes(model, batch):
    """Shapes of the real graph inputs with the (dynamic) first dimension set to `batch`."""
    inits = {t.name for t in model.graph.initializer}
    shapes = []
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
        if any(d is None for d in dims[1:]):
            raise ValueError(f"input '{inp.name}' has dynamic dimensions besides the batch")
        shapes.append((inp.name, [batch] + dims[1:]))
    return shapes


def random_feed(model, name, shape, rng, np):
    """Seeded data for one input: floats in [-1, 1); for int inputs, a mask of ones or ids below the vocabulary."""
    elem = next(i.type.tensor_type.elem_type for i in model.graph.input if i.name == name)
    if elem in (6, 7):  # int32, int64
        dtype = np.int64 if elem == 7 else np.int32
        if "mask" in name:
            return np.ones(shape, dtype=dtype)
        meta = {p.key: p.value for p in model.metadata_props}
        return rng.integers(0, int(meta.get("node_tensorrt.vocab", "100")), size=shape).astype(dtype)
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def check_against_ort(model_proto, module, path, seed, torch, np, cuda):
    """Compares the converted module (FP32, and FP16 channels_last on the GPU) with onnxruntime on the CPU."""
    shapes = input_shapes(model_proto, 2)
    rng = np.random.default_rng(seed)
    feeds = {name: random_feed(model_proto, name, shape, rng, np) for name, shape in shapes}
    try:
        import onnxruntime as ort
    except Exception as e:  # noqa: BLE001 - any import failure means the check cannot run
        return {"ok": None, "skipped": f"onnxruntime is not importable: {e}"}
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    expected = sess.run(None, feeds)[0]
    device = torch.device("cuda" if cuda else "cpu")
    result = {"onnxruntime": ort.__version__}
    with torch.inference_mode():
        args = [torch.from_numpy(feeds[n]).to(device) for n, _ in shapes]
        m = module.to(device)
        out = m(*args)
        got = (out[0] if isinstance(out, (tuple, list)) else out).float().cpu().numpy()
        result["fp32RelL2"] = rel_l2(got, expected)
        result["fp32MaxAbs"] = float(np.abs(got - expected).max())
        if cuda:
            mh = build_variant(module, "fp16", torch)
            outh = mh(*args)
            goth = (outh[0] if isinstance(outh, (tuple, list)) else outh).float().cpu().numpy()
            result["fp16RelL2"] = rel_l2(goth, expected)
            result["fp16MaxAbs"] = float(np.abs(goth - expected).max())
            result["top1Agreement"] = float((goth.argmax(-1) == expected.argmax(-1)).mean())
    result["ok"] = result["fp32RelL2"] < 1e-3
    return result


def build_variant(base, precision, torch):
    """The deployed form: a copy on the GPU in the precision, channels_last, taking and returning FP32."""
    import copy

    dtype = torch.float16 if precision == "fp16" else torch.float32
    inner = copy.deepcopy(base).to("cuda", dtype=dtype).to(memory_format=torch.channels_last).eval()

    class Deployed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def forward(self, *xs):
            out = self.inner(*[x.to(dtype) if x.is_floating_point() else x for x in xs])
            if isinstance(out, (tuple, list)):
                return tuple(o.float() for o in out)
            return out.float()

    return Deployed().eval()


def time_config(base, model_proto, precision, batch, mode, args, torch, np, post=None):
    fmt = torch.channels_last
    model = build_variant(base, precision, torch)
    rng = np.random.default_rng(args.seed + batch)
    shapes = input_shapes(model_proto, batch)
    hosts = [torch.from_numpy(random_feed(model_proto, n, s, rng, np)).pin_memory() for n, s in shapes]
    devs = [torch.empty(s, dtype=h.dtype, device="cuda", memory_format=fmt if len(s) == 4 else torch.contiguous_format) for (_, s), h in zip(shapes, hosts)]
    for d, h in zip(devs, hosts):
        d.copy_(h)
    transfers = not args.no_transfers

    run = model
    compile_ms = None
    if mode == "compile":
        # max-autotune benchmarks Triton and library kernels per shape and replays CUDA graphs itself.
        torch._dynamo.reset()
        run = torch.compile(model, mode="max-autotune", dynamic=False)

    def forward():
        if mode == "compile":
            torch.compiler.cudagraph_mark_step_begin()  # each query is a new iteration of the compiled graphs
        out = run(*devs)
        return out if isinstance(out, tuple) else (out,)

    with torch.inference_mode():
        c0 = time.perf_counter()
        outs = forward()  # cudnn.benchmark (or the compiler's autotuning) picks its kernels at this shape
        torch.cuda.synchronize()
        if mode == "compile":
            compile_ms = (time.perf_counter() - c0) * 1000
            log(f"torch.compile max-autotune {precision} batch {batch}: compiled in {compile_ms / 1000:.1f} s")
            for _ in range(3):  # CUDA-graph trees record on the first runs after compiling
                outs = forward()
            torch.cuda.synchronize()
        graph = None
        if mode == "cudagraph":
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    forward()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                outs = forward()
        results = post(outs[0]) if post else outs
        host_outs = [torch.empty(o.shape, dtype=o.dtype, pin_memory=True) for o in results]
        ev = [torch.cuda.Event(enable_timing=True) for _ in range(4)]

        def query():
            nonlocal outs
            t0 = time.perf_counter_ns()
            ev[0].record()
            if transfers:
                for d, h in zip(devs, hosts):
                    d.copy_(h, non_blocking=True)
            ev[1].record()
            if graph is not None:
                graph.replay()
            else:
                outs = forward()
            res = post(outs[0]) if post else outs  # the NMS runs eagerly after the network, in the timed region
            ev[2].record()
            if transfers:
                for h, o in zip(host_outs, res):
                    h.copy_(o, non_blocking=True)
            ev[3].record()
            ev[3].synchronize()
            t1 = time.perf_counter_ns()
            return (ev[0].elapsed_time(ev[1]), ev[1].elapsed_time(ev[2]), ev[2].elapsed_time(ev[3]), (t1 - t0) / 1e6)

        warm = 0
        w0 = time.perf_counter()
        while args.warmup_ms > 0 and (warm == 0 or (time.perf_counter() - w0) * 1000 < args.warmup_ms):
            query()
            warm += 1
        samples = []
        t0 = time.perf_counter()
        while True:
            samples.append(query())
            if (time.perf_counter() - t0) >= args.duration_s and len(samples) >= args.iterations:
                break
        wall = (time.perf_counter() - t0) * 1000
    del graph, model, run, devs, hosts, outs, host_outs, results
    torch.cuda.empty_cache()
    r6 = lambda xs: [round(x, 6) for x in xs]  # noqa: E731
    extra = {"compileMs": round(compile_ms, 3)} if compile_ms is not None else {}
    if post:
        extra["nms"] = True
    return {
        **extra,
        "mode": mode,
        "precision": precision,
        "batch": batch,
        "walltimeMs": wall,
        "warmUpQueries": warm,
        "h2dMs": r6([s[0] for s in samples]) if transfers else [0.0] * len(samples),
        "computeMs": r6([s[1] for s in samples]),
        "d2hMs": r6([s[2] for s in samples]) if transfers else [0.0] * len(samples),
        "e2eMs": r6([s[3] for s in samples]),
    }


def main(argv):
    args = parse_args(argv)
    try:
        import numpy as np
        import torch
    except Exception as e:  # noqa: BLE001
        return emit({"status": "skipped", "reason": f"PyTorch is not importable ({type(e).__name__}: {e})"})
    try:
        import onnx
    except Exception as e:  # noqa: BLE001
        return emit({"status": "skipped", "reason": f"the onnx package is not importable ({type(e).__name__}: {e})"})
    from onnx_to_torch import UnsupportedOp, onnx_to_torch
    from torch_zoo import META_MODEL, META_SEED, build as build_zoo

    cuda = torch.cuda.is_available()
    info = {"torch": torch.__version__, "python": sys.version.split()[0], "cudaBuild": torch.version.cuda, "onnx": onnx.__version__}
    if not cuda and not args.check_only:
        return emit({"status": "skipped", "reason": f"PyTorch {torch.__version__} sees no CUDA device (torch.cuda.is_available() is False)", "info": info})
    if cuda:
        torch.cuda.set_device(args.device)
        info["device"] = torch.cuda.get_device_name(args.device)
        info["cudnn"] = torch.backends.cudnn.version()
    model_proto = onnx.load(args.onnx)
    meta = {p.key: p.value for p in model_proto.metadata_props}
    try:
        if meta.get(META_MODEL):
            # A named network (scripts/peers/torch_zoo.py) is rebuilt from its recipe and seed: the same weights, and the
            # PyTorch code a user would deploy (SDPA attention), checked against onnxruntime below like any other.
            base = build_zoo(meta[META_MODEL], int(meta.get(META_SEED, "0")))[0]
            info["model"] = f"{meta[META_MODEL]} (torch_zoo, seed {meta.get(META_SEED, '0')})"
        else:
            base = onnx_to_torch(model_proto)
    except UnsupportedOp as e:
        return emit({"status": "failed", "reason": f"cannot build the PyTorch module: {e}", "info": info})
    post = None
    if args.nms:
        try:
            import torchvision

            score, iou, max_det = parse_nms(args.nms)
        except Exception as e:  # noqa: BLE001
            return emit({"status": "skipped", "reason": f"--nms needs torchvision ({type(e).__name__}: {e})", "info": info})
        info["torchvision"] = torchvision.__version__
        info["nms"] = {"scoreThreshold": score, "iouThreshold": iou, "maxOutput": max_det,
                       "implementation": "decode + torchvision.ops.batched_nms per image, eager, after the network"}
        post = make_nms(torch, torchvision, score, iou, max_det)
    torch.backends.cudnn.benchmark = True
    # FP32 means FP32 here, as in the FP32 engine: no TF32 in convolutions or matmuls.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    info["fp32Math"] = "strict FP32 (TF32 off)"
    check = check_against_ort(model_proto, base, args.onnx, args.seed, torch, np, cuda)
    log(f"check against onnxruntime (CPU): {check}")
    if check.get("ok") is False:
        return emit({"status": "failed", "reason": f"the PyTorch module disagrees with onnxruntime (relative L2 {check['fp32RelL2']:.3g})", "info": info, "check": check})
    if args.check_only:
        return emit({"status": "ok", "info": info, "check": check, "runs": []})
    base = base.cpu()
    runs = []
    for precision in [p for p in args.precisions.split(",") if p]:
        for batch in [int(b) for b in args.batches.split(",") if b]:
            for mode in [m for m in args.modes.split(",") if m]:
                log(f"{mode} {precision} batch {batch}")
                try:
                    runs.append(time_config(base, model_proto, precision, batch, mode, args, torch, np, post))
                except torch.cuda.OutOfMemoryError as e:
                    torch.cuda.empty_cache()
                    runs.append({"mode": mode, "precision": precision, "batch": batch, "error": f"out of memory: {str(e).splitlines()[0]}"})
    emit({"status": "ok", "info": info, "check": check, "runs": runs})


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        main(sys.argv[1:])
    except Exception as e:  # noqa: BLE001 - the caller reads one JSON object whatever happens
        import traceback

        traceback.print_exc(file=sys.stderr)
        emit({"status": "failed", "reason": f"{type(e).__name__}: {e}"})
