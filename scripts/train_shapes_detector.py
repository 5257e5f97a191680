#!/usr/bin/env python3
"""Trains a small YOLO-style detector (anchor-free, decoupled head, as YOLOv8 has) on a seeded synthetic data set of
shapes drawn on cluttered backgrounds, and writes the detection fixture.

Data: 160x160 RGB images; 1-4 objects of 4 classes (circle, square, triangle, cross) with random colours, sizes and
positions over smooth gradients, random lines, blobs and noise. Boxes are the tight bounds of each drawn mask.
Model: SiLU conv/BN backbone with C2f-style blocks and SPPF, an FPN/PAN neck, and per level (strides 8, 16, 32) a box
branch (l, t, r, b distances = sigmoid * 8 strides) and a class branch (sigmoid scores). Output 'output0' is
[batch, 4 + classes, 525]: cx, cy, w, h in input pixels, then class scores (what YOLOv8 exports give).
Assignment: anchor points inside a box's centre region (2.5 strides) on the levels its size suits; box loss GIoU,
class loss BCE against the IoU of the predicted box (quality-aware scores).

Writes into --out (default test/fixtures/shapes):
  shapes_yolo.onnx       opset 17, FP32, input 'images' [batch, 3, 160, 160] (RGB / 255), dynamic batch
  test-images.u8.gz      the held-out split, gzip of uint8 [count, 160, 160, 3] (RGB)
  test.json              format, classes, boxes and labels of the held-out split, the torch detections on it and
                         the mAP@0.5 / per-class precision and recall measured here (lib/vision/metrics.ts rules)
  sample.png             one held-out image, for the README's detect picture
  labels.txt             the class names, one per line (for --labels)
With --imgsz-export 640 it also writes shapes_yolo_640.onnx (same weights at 640x640) for benchmarks.
Deterministic data; training on the GPU when there is one (about two minutes on an H200).
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import time

FORMAT = "node-tensorrt-shapes/1"
CLASSES = ["circle", "square", "triangle", "cross"]
IMG = 160
STRIDES = (8, 16, 32)


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "shapes"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train", type=int, default=8000)
    p.add_argument("--test", type=int, default=120)
    p.add_argument("--epochs", type=int, default=36)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--max-seconds", type=float, default=150, help="stop training early past this many seconds")
    p.add_argument("--imgsz-export", type=int, default=0, help="also export at this square size (e.g. 640)")
    return p.parse_args()


# --- data ----------------------------------------------------------------------------------------------------------

def make_image(index, seed):
    """One image (uint8 HxWx3) and its objects [(class, x1, y1, x2, y2)], from its own seeded generator."""
    import numpy as np
    rng = np.random.default_rng([seed, index])
    yy, xx = np.mgrid[0:IMG, 0:IMG].astype(np.float32)
    c0, c1 = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    ang = rng.uniform(0, 2 * math.pi)
    t = ((xx * math.cos(ang) + yy * math.sin(ang)) / (IMG * 1.5) + 0.5).clip(0, 1)[..., None]
    img = c0 * (1 - t) + c1 * t
    for _ in range(rng.integers(3, 9)):  # clutter: thick lines
        a, d, w = rng.uniform(0, math.pi), rng.uniform(-IMG, IMG), rng.uniform(1, 4)
        m = np.abs(xx * math.cos(a) + yy * math.sin(a) - d) < w
        img[m] = img[m] * 0.4 + rng.uniform(0, 255, 3) * 0.6
    for _ in range(rng.integers(2, 6)):  # clutter: soft blobs
        cx, cy, r = rng.uniform(0, IMG), rng.uniform(0, IMG), rng.uniform(6, 30)
        k = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None] * 0.5
        img = img * (1 - k) + rng.uniform(0, 255, 3) * k
    objects = []
    for _ in range(rng.integers(1, 5)):
        cls = int(rng.integers(0, len(CLASSES)))
        s = rng.uniform(10, 30)  # half size
        cx, cy = rng.uniform(s, IMG - s), rng.uniform(s, IMG - s)
        dx, dy = xx - cx, yy - cy
        if cls == 0:
            m = dx * dx + dy * dy <= s * s
        elif cls == 1:
            m = (np.abs(dx) <= s) & (np.abs(dy) <= s * rng.uniform(0.7, 1.0))
        elif cls == 2:
            a0 = rng.uniform(0, 2 * math.pi)
            pts = [(cx + s * math.cos(a0 + k * 2 * math.pi / 3), cy + s * math.sin(a0 + k * 2 * math.pi / 3)) for k in range(3)]
            m = np.ones_like(xx, dtype=bool)
            for k in range(3):
                (x0, y0), (x1, y1) = pts[k], pts[(k + 1) % 3]
                side = (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0)
                sign = (x1 - x0) * (pts[(k + 2) % 3][1] - y0) - (y1 - y0) * (pts[(k + 2) % 3][0] - x0)
                m &= side * sign >= 0
        else:
            arm = s * rng.uniform(0.25, 0.4)
            m = ((np.abs(dx) <= s) & (np.abs(dy) <= arm)) | ((np.abs(dy) <= s) & (np.abs(dx) <= arm))
        if m.sum() < 30:
            continue
        colour = rng.uniform(0, 255, 3)
        colour[rng.integers(0, 3)] = rng.choice([20.0, 235.0])  # saturated, so shapes stand out from clutter
        img[m] = colour
        ys, xs = np.nonzero(m)
        # Later shapes may cover earlier ones; boxes stay those of the drawn masks.
        objects.append((cls, float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)))
    img = img + rng.normal(0, 4, img.shape)
    return img.clip(0, 255).astype(np.uint8), objects


def make_set(start, count, seed):
    from multiprocessing import Pool
    with Pool(min(16, os.cpu_count() or 1)) as pool:
        return pool.starmap(make_image, [(start + i, seed) for i in range(count)])


# --- model ---------------------------------------------------------------------------------------------------------

def build_model(torch, nc):
    nn = torch.nn

    def conv(c1, c2, k=3, s=1):
        return nn.Sequential(nn.Conv2d(c1, c2, k, s, k // 2, bias=False), nn.BatchNorm2d(c2), nn.SiLU())

    class C2f(nn.Module):
        """YOLOv8's C2f with two 1x1 convolutions instead of a split (exports without Split)."""
        def __init__(self, c1, c2, n=1):
            super().__init__()
            h = c2 // 2
            self.a, self.b = conv(c1, h, 1), conv(c1, h, 1)
            self.m = nn.ModuleList(nn.Sequential(conv(h, h), conv(h, h)) for _ in range(n))
            self.out = conv((2 + n) * h, c2, 1)

        def forward(self, x):
            y = [self.a(x), self.b(x)]
            for m in self.m:
                y.append(y[-1] + m(y[-1]))
            return self.out(torch.cat(y, 1))

    class SPPF(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.a, self.out, self.pool = conv(c, c // 2, 1), conv(c * 2, c, 1), nn.MaxPool2d(5, 1, 2)

        def forward(self, x):
            x = self.a(x)
            y1 = self.pool(x)
            y2 = self.pool(y1)
            return self.out(torch.cat([x, y1, y2, self.pool(y2)], 1))

    class Head(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.box = nn.Sequential(conv(c, 64), conv(64, 64), nn.Conv2d(64, 4, 1))
            self.cls = nn.Sequential(conv(c, 64), conv(64, 64), nn.Conv2d(64, nc, 1))
            nn.init.constant_(self.cls[-1].bias, -4.6)

    class Detector(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(conv(3, 16, 3, 2), conv(16, 32, 3, 2), C2f(32, 32))
            self.s3 = nn.Sequential(conv(32, 64, 3, 2), C2f(64, 64, 2))
            self.s4 = nn.Sequential(conv(64, 96, 3, 2), C2f(96, 96, 2))
            self.s5 = nn.Sequential(conv(96, 128, 3, 2), C2f(128, 128), SPPF(128))
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.u4, self.u3 = C2f(128 + 96, 96), C2f(96 + 64, 64)
            self.down3, self.d4 = conv(64, 64, 3, 2), C2f(64 + 96, 96)
            self.down4, self.d5 = conv(96, 96, 3, 2), C2f(96 + 128, 128)
            self.heads = nn.ModuleList([Head(64), Head(96), Head(128)])
            anchors, strides = [], []
            for s in STRIDES:
                n = IMG // s
                ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
                anchors.append(torch.stack([xs, ys], 0).reshape(2, -1).float() * s + s / 2)
                strides.append(torch.full((1, n * n), float(s)))
            self.register_buffer("anchors", torch.cat(anchors, 1))  # [2, N]
            self.register_buffer("strides", torch.cat(strides, 1))  # [1, N]

        def raw(self, x):
            p3 = self.s3(self.stem(x))
            p4 = self.s4(p3)
            p5 = self.s5(p4)
            u4 = self.u4(torch.cat([self.up(p5), p4], 1))
            o3 = self.u3(torch.cat([self.up(u4), p3], 1))
            o4 = self.d4(torch.cat([self.down3(o3), u4], 1))
            o5 = self.d5(torch.cat([self.down4(o4), p5], 1))
            b = x.shape[0]
            box = torch.cat([h.box(o).view(b, 4, -1) for h, o in zip(self.heads, (o3, o4, o5))], 2)
            cls = torch.cat([h.cls(o).view(b, nc, -1) for h, o in zip(self.heads, (o3, o4, o5))], 2)
            return box, cls

        def decode(self, box):
            d = torch.sigmoid(box) * (8 * self.strides)  # l, t, r, b in pixels
            x1y1 = self.anchors - d[:, :2]
            x2y2 = self.anchors + d[:, 2:]
            return x1y1, x2y2

        def forward(self, x):
            box, cls = self.raw(x)
            x1y1, x2y2 = self.decode(box)
            return torch.cat([(x1y1 + x2y2) * 0.5, x2y2 - x1y1, torch.sigmoid(cls)], 1)

    return Detector()


# --- training ------------------------------------------------------------------------------------------------------

def iou_xyxy(torch, a, b, giou=False):
    lt = torch.max(a[..., :2], b[..., :2])
    rb = torch.min(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = lambda t: (t[..., 2:] - t[..., :2]).clamp(min=0).prod(-1)
    union = area(a) + area(b) - inter + 1e-7
    iou = inter / union
    if not giou:
        return iou
    hull = (torch.max(a[..., 2:], b[..., 2:]) - torch.min(a[..., :2], b[..., :2])).clamp(min=0).prod(-1) + 1e-7
    return iou - (hull - union) / hull


def assign(torch, model, targets):
    """Per anchor: the index of its GT (-1 for background) for one image's targets [(cls, x1, y1, x2, y2)]."""
    n = model.anchors.shape[1]
    dev = model.anchors.device
    owner = torch.full((n,), -1, dtype=torch.long, device=dev)
    if len(targets) == 0:
        return owner
    gt = torch.tensor([t[1:] for t in targets], dtype=torch.float32, device=dev)  # [G, 4]
    ax, ay = model.anchors[0][None], model.anchors[1][None]  # [1, N]
    st = model.strides[0][None]
    cx, cy = ((gt[:, 0] + gt[:, 2]) / 2)[:, None], ((gt[:, 1] + gt[:, 3]) / 2)[:, None]
    inside = (ax > gt[:, :1]) & (ax < gt[:, 2:3]) & (ay > gt[:, 1:2]) & (ay < gt[:, 3:4])
    centre = ((ax - cx).abs() < 2.5 * st) & ((ay - cy).abs() < 2.5 * st)
    side = torch.max(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1])[:, None]
    level = ((st == 8) & (side < 48)) | ((st == 16) & (side >= 24) & (side < 96)) | ((st == 32) & (side >= 48))
    ok = inside & centre & level  # [G, N]
    area = ((gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]))[:, None].expand_as(ok)
    cost = torch.where(ok, area, torch.full_like(area, float("inf")))
    best, idx = cost.min(0)
    owner[best.isfinite()] = idx[best.isfinite()]
    for g in range(gt.shape[0]):  # every box gets at least its nearest anchor on the finest level it suits
        if not (owner == g).any():
            d = (ax[0] - cx[g]) ** 2 + (ay[0] - cy[g]) ** 2 + (~level[g]).float() * 1e9
            owner[d.argmin()] = g
    return owner


def train(args, torch, model, data, device, log):
    import numpy as np
    images = torch.from_numpy(np.stack([d[0] for d in data])).permute(0, 3, 1, 2).contiguous().to(device)  # uint8
    # Assignments are fixed per image (no geometric augmentation), so they are computed once.
    n = model.anchors.shape[1]
    gt_box = torch.zeros(len(data), n, 4, device=device)
    gt_cls = torch.full((len(data), n), -1, dtype=torch.long, device=device)
    for k, (_, objs) in enumerate(data):
        owner = assign(torch, model, objs)
        pos = owner >= 0
        if pos.any():
            gt_box[k, pos] = torch.tensor([o[1:] for o in objs], dtype=torch.float32, device=device)[owner[pos]]
            gt_cls[k, pos] = torch.tensor([o[0] for o in objs], device=device)[owner[pos]]
    log(f"assigned {int((gt_cls >= 0).sum())} positive anchors over {len(data)} images")
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    steps = args.epochs * math.ceil(len(data) / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    model.train()
    epochs_done = 0
    for epoch in range(args.epochs):
        perm = torch.randperm(len(data), generator=gen).to(device)
        total = 0.0
        for i in range(0, len(data), args.batch):
            idx = perm[i:i + args.batch]
            x = images[idx].float() / 255
            box, cls = model.raw(x)
            x1y1, x2y2 = model.decode(box)
            pred = torch.cat([x1y1, x2y2], 1).permute(0, 2, 1)  # [B, N, 4]
            gcls = gt_cls[idx]
            pos = gcls >= 0
            bi, ni = pos.nonzero(as_tuple=True)
            p, g = pred[bi, ni], gt_box[idx][bi, ni]
            box_loss = (1 - iou_xyxy(torch, p, g, giou=True)).sum()
            cls_t = torch.zeros_like(cls)
            cls_t[bi, gcls[bi, ni], ni] = iou_xyxy(torch, p.detach(), g).clamp(min=0.1)
            cls_loss = torch.nn.functional.binary_cross_entropy_with_logits(cls, cls_t, reduction="sum")
            loss = (cls_loss + 5.0 * box_loss) / max(int(bi.numel()), 1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss)
        epochs_done = epoch + 1
        log(f"epoch {epoch + 1}/{args.epochs} loss {total / math.ceil(len(data) / args.batch):.4f} ({time.time() - t0:.0f} s)")
        if time.time() - t0 > args.max_seconds:
            log(f"stopping at the time limit ({args.max_seconds} s)")
            break
    model.eval()
    return epochs_done, time.time() - t0


# --- evaluation (the rules of lib/vision/metrics.ts) ---------------------------------------------------------------

def detect(torch, torchvision, model, images, device, score=0.001, iou=0.5, max_det=100):
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 64):
            x = torch.from_numpy(images[i:i + 64]).permute(0, 3, 1, 2).to(device).float() / 255
            y = model(x)  # [B, 4 + C, N]
            for r in y:
                boxes = torch.cat([r[:2] - r[2:4] / 2, r[:2] + r[2:4] / 2], 0).T
                scores, cls = r[4:].max(0)
                keep = scores > score
                b, s, c = boxes[keep], scores[keep], cls[keep]
                k = torchvision.ops.batched_nms(b, s, c, iou)[:max_det]
                # Rounded as stored in test.json; the metrics here are computed on these very values.
                out.append([[round(float(v), 2) for v in b[j]] + [round(float(s[j]), 5), int(c[j])] for j in k.tolist()])
    return out


def average_precision(dets, gts, cls, iou_thr=0.5):
    """All-point interpolated AP of one class; dets[i] = [x1, y1, x2, y2, score, class], gts[i] = [(class, box...)]."""
    import numpy as np
    items = [(d[4], i, d[:4]) for i, ds in enumerate(dets) for d in ds if d[5] == cls]
    items.sort(key=lambda t: -t[0])
    npos = sum(1 for g in gts for o in g if o[0] == cls)
    used = [[False] * len(g) for g in gts]
    tp = []
    for _, i, b in items:
        best, bj = 0.0, -1
        for j, o in enumerate(gts[i]):
            if o[0] != cls:
                continue
            ix = max(0.0, min(b[2], o[3]) - max(b[0], o[1]))
            iy = max(0.0, min(b[3], o[4]) - max(b[1], o[2]))
            inter = ix * iy
            u = (b[2] - b[0]) * (b[3] - b[1]) + (o[3] - o[1]) * (o[4] - o[2]) - inter
            v = inter / u if u > 0 else 0.0
            if v > best:
                best, bj = v, j
        hit = best >= iou_thr and not used[i][bj]
        if hit:
            used[i][bj] = True
        tp.append(1.0 if hit else 0.0)
    if npos == 0:
        return None, 0, 0, npos
    tp = np.array(tp)
    ctp = np.cumsum(tp)
    rec = ctp / npos if len(tp) else np.zeros(0)
    prec = ctp / np.arange(1, len(tp) + 1) if len(tp) else np.zeros(0)
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[1.0], prec, [0.0]])
    for k in range(len(mpre) - 2, -1, -1):
        mpre[k] = max(mpre[k], mpre[k + 1])
    ap = float(np.sum((mrec[1:] - mrec[:-1]) * mpre[1:]))
    return ap, float(ctp[-1]) if len(tp) else 0.0, len(tp), npos


def metrics(dets, gts, score_threshold=0.25):
    per = {}
    aps = []
    for c, name in enumerate(CLASSES):
        ap, _, _, npos = average_precision(dets, gts, c)
        kept = [[d for d in ds if d[4] >= score_threshold] for ds in dets]
        _, tp, n, _ = average_precision(kept, gts, c)
        per[name] = {"ap50": ap, "precision": tp / n if n else 0.0, "recall": tp / npos if npos else 0.0, "instances": npos}
        if ap is not None:
            aps.append(ap)
    return {"map50": sum(aps) / len(aps), "scoreThreshold": score_threshold, "perClass": per}


def main():
    global IMG
    args = parse_args()
    import numpy as np
    import torch
    import torchvision
    os.makedirs(args.out, exist_ok=True)
    logf = open(os.path.join(args.out, "train.log"), "w")

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")

    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.time()
    train_set = make_set(0, args.train, args.seed)
    test_set = make_set(10_000_000, args.test, args.seed)  # a disjoint index range: held out
    log(f"data: {len(train_set)} train, {len(test_set)} held-out images in {time.time() - t0:.1f} s")

    model = build_model(torch, len(CLASSES)).to(device)
    epochs, secs = train(args, torch, model, train_set, device, log)
    test_images = np.stack([d[0] for d in test_set])
    gts = [d[1] for d in test_set]
    dets = detect(torch, torchvision, model, test_images, device)
    m = metrics(dets, gts)
    log(f"held-out mAP@0.5 {m['map50']:.4f}; per class " + ", ".join(f"{k} AP {v['ap50']:.3f} P {v['precision']:.3f} R {v['recall']:.3f}" for k, v in m["perClass"].items()))

    model = model.cpu().eval()
    onnx_path = os.path.join(args.out, "shapes_yolo.onnx")
    dummy = torch.zeros(2, 3, IMG, IMG)
    torch.onnx.export(model, (dummy,), onnx_path, input_names=["images"], output_names=["output0"],
                      dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}}, opset_version=17, dynamo=False,
                      do_constant_folding=True)
    ort_err = None
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        x = test_images[:8].transpose(0, 3, 1, 2).astype(np.float32) / 255
        got = sess.run(None, {"images": x})[0]
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        ort_err = float(np.linalg.norm(got - want) / np.linalg.norm(want))
        log(f"onnxruntime vs torch: relative error {ort_err:.2e}")
    except ImportError:
        log("onnxruntime not installed: export not cross-checked")
    if args.imgsz_export:
        big = args.imgsz_export
        IMG, saved = big, IMG
        model640 = build_model(torch, len(CLASSES))
        state = {k: v for k, v in model.state_dict().items() if k not in ("anchors", "strides")}
        model640.load_state_dict(state, strict=False)
        model640.eval()
        torch.onnx.export(model640, (torch.zeros(1, 3, big, big),), os.path.join(args.out, f"shapes_yolo_{big}.onnx"),
                          input_names=["images"], output_names=["output0"],
                          dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}}, opset_version=17, dynamo=False)
        IMG = saved

    with gzip.open(os.path.join(args.out, "test-images.u8.gz"), "wb", compresslevel=9) as f:
        f.write(test_images.tobytes())
    try:
        from PIL import Image
        Image.fromarray(test_images[0]).save(os.path.join(args.out, "sample.png"))
    except ImportError:
        pass
    with open(os.path.join(args.out, "labels.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    sha = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()
    report = {
        "format": FORMAT, "count": len(test_set), "shape": [IMG, IMG, 3], "dtype": "uint8", "layout": "NHWC RGB",
        "images": "test-images.u8.gz", "preprocessing": "RGB / 255, NCHW float32", "classes": CLASSES,
        "boxes": [[[o[0], o[1], o[2], o[3], o[4]] for o in g] for g in gts], "boxFormat": "[class, x1, y1, x2, y2] pixels",
        "seed": args.seed, "train": len(train_set), "epochs": epochs, "trainSeconds": round(secs, 1),
        "nms": {"scoreThreshold": 0.001, "iouThreshold": 0.5, "maxDetections": 100, "classAware": True},
        "torch": {"version": torch.__version__, "device": device, **m, "detections": dets},
        "onnxruntimeVsTorch": ort_err, "onnxSha256": sha,
    }
    with open(os.path.join(args.out, "test.json"), "w") as f:
        json.dump(report, f)
    log(f"wrote {args.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
