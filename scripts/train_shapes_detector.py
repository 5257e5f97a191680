#!/usr/bin/env python3
"""Trains a small YOLO-style detector (anchor-free, decoupled head, as YOLOv8 has) on a seeded synthetic data set of
shapes drawn on cluttered backgrounds, and writes the detection fixture.

Data: 160x160 RGB images; 1-4 objects of 4 classes (circle, square, triangle, cross) and 0-2 decoys (ellipses and
rings, of no class) with random colours, sizes (14-60 px) and positions (their extents never overlap) over smooth
gradients, random lines and blobs, with thin lines over them (sensor noise is added during training only, so that
the held-out split compresses). Boxes are the tight bounds of each drawn mask. make_image() also gives the class mask (scripts/train_shapes_segmenters.py uses it).
Model: SiLU conv/BN backbone with C2f-style blocks and SPPF, an FPN/PAN neck, and per level (strides 8, 16, 32) a box
branch (l, t, r, b distances = sigmoid * 8 strides) and a class branch (sigmoid scores). Output 'output0' is
[batch, 4 + classes, 525]: cx, cy, w, h in input pixels, then class scores (what YOLOv8 exports give).
Assignment: anchor points inside a box and within 2.5 strides of its centre, on the levels its size suits; box loss
GIoU, class loss BCE against the IoU of the predicted box (quality-aware scores).
Evaluation: every (box, class) pair scoring above 0.001 is a candidate, NMS per class at IoU 0.5, the best 100 kept
(the rules of the engines' postprocess.nms stage), then mAP@0.5 and per-class precision / recall at score 0.25 (the
rules of lib/vision/metrics.ts), on the CPU in FP32.

Writes into --out (default test/fixtures/shapes):
  shapes_yolo.onnx       opset 17, FP32, input 'images' [batch, 3, 160, 160] (RGB / 255), dynamic batch
  test-images.u8.gz      the held-out split, gzip of uint8 [count, 160, 160, 3] (RGB)
  test.json              format, classes, boxes and labels of the held-out split, the torch detections on it and
                         the mAP@0.5 / per-class precision and recall measured here
  sample.png             one held-out image, for the README's detect picture
  labels.txt             the class names, one per line (for --labels)
  train.log              this run's progress lines (git ignores it)
With --imgsz-export 640 it also writes shapes_yolo_640.onnx (the same weights at 640x640, output [batch, 8, 8400])
into --bench-out (default models/, which git ignores): it is for speed benchmarks only.
Deterministic data; training on the GPU when there is one, ended by a time budget (--max-seconds, 150 s).
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
NOISE = 2.0 / 255  # sensor noise added to training batches (standard deviation, inputs in 0..1)
# The evaluation's NMS: the same rules as postprocess.nms (lib/vision/postprocess.ts), stored in test.json.
NMS = {"scoreThreshold": 0.001, "iouThreshold": 0.5, "maxDetections": 100, "classAware": True}
SCORE_THRESHOLD = 0.25  # precision and recall are measured over detections scoring at least this


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "shapes"))
    p.add_argument("--bench-out", default=os.path.join(here, "..", "models"), help="folder of the --imgsz-export model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train", type=int, default=8000)
    p.add_argument("--test", type=int, default=96, help="held-out images (stored gzipped in the fixture)")
    p.add_argument("--epochs", type=int, default=40, help="at most this many epochs (the time budget may end it first)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-seconds", type=float, default=150, help="training time budget; the schedule anneals within it")
    p.add_argument("--imgsz-export", type=int, default=0, help="also export at this square size (e.g. 640)")
    return p.parse_args()


# --- data ----------------------------------------------------------------------------------------------------------

def make_image(index, seed, size=IMG, with_mask=False):
    """One image (uint8 HxWx3) and its objects [(class, x1, y1, x2, y2)] from its own seeded generator; with_mask also
    gives the class map (uint8 HxW: 0 background, 1 + class index on each shape's pixels). Lengths scale with size."""
    import numpy as np
    k = size / IMG
    rng = np.random.default_rng([seed, index])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c0, c1 = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    ang = rng.uniform(0, 2 * math.pi)
    t = ((xx * math.cos(ang) + yy * math.sin(ang)) / (size * 1.5) + 0.5).clip(0, 1)[..., None]
    img = c0 * (1 - t) + c1 * t  # float64 HxWx3
    for _ in range(rng.integers(3, 9)):  # clutter: thick lines
        a, d, w = rng.uniform(0, math.pi), rng.uniform(-size, size), rng.uniform(1, 4) * k
        m = np.abs(xx * math.cos(a) + yy * math.sin(a) - d) < w
        img[m] = img[m] * 0.4 + rng.uniform(0, 255, 3) * 0.6
    for _ in range(rng.integers(2, 6)):  # clutter: soft blobs
        cx, cy, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(6, 30) * k
        g = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None] * 0.5
        img = img * (1 - g) + rng.uniform(0, 255, 3) * g
    mask = np.zeros((size, size), dtype=np.uint8)
    objects = []
    placed = []  # (cx, cy, half size) of the shapes drawn so far: extents never overlap, so every box is visible
    # 1-4 objects and 0-2 decoys (an ellipse or a ring: shapes of no class, to be told apart from circles), in a
    # random order.
    kinds = [int(rng.integers(0, len(CLASSES))) for _ in range(rng.integers(1, 5))]
    kinds += [len(CLASSES) + int(rng.integers(0, 2)) for _ in range(rng.integers(0, 3))]
    for kind in rng.permutation(kinds).tolist():
        s = rng.uniform(7, 30) * k  # half size: every shape lies within [cx - s, cx + s] x [cy - s, cy + s]
        for _attempt in range(20):
            cx, cy = rng.uniform(s, size - s), rng.uniform(s, size - s)
            gap = 2 * k
            if all(abs(cx - px) > s + ps + gap or abs(cy - py) > s + ps + gap for px, py, ps in placed):
                break
        else:
            continue  # no free place for it
        dx, dy = xx - cx, yy - cy
        if kind == 0:  # circle
            m = dx * dx + dy * dy <= s * s
        elif kind == 1:  # square (or nearly)
            m = (np.abs(dx) <= s) & (np.abs(dy) <= s * rng.uniform(0.7, 1.0))
        elif kind == 2:  # triangle, any rotation
            a0 = rng.uniform(0, 2 * math.pi)
            pts = [(cx + s * math.cos(a0 + j * 2 * math.pi / 3), cy + s * math.sin(a0 + j * 2 * math.pi / 3)) for j in range(3)]
            m = np.ones_like(xx, dtype=bool)
            for j in range(3):
                (x0, y0), (x1, y1), (x2, y2) = pts[j], pts[(j + 1) % 3], pts[(j + 2) % 3]
                side = (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0)
                sign = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
                m &= side * sign >= 0
        elif kind == 3:  # cross
            arm = s * rng.uniform(0.25, 0.4)
            m = ((np.abs(dx) <= s) & (np.abs(dy) <= arm)) | ((np.abs(dy) <= s) & (np.abs(dx) <= arm))
        elif kind == 4:  # decoy: an ellipse, lying or standing
            b = s * rng.uniform(0.35, 0.6)
            ex, ey = (s, b) if rng.random() < 0.5 else (b, s)
            m = (dx / ex) ** 2 + (dy / ey) ** 2 <= 1
        else:  # decoy: a ring
            r2 = dx * dx + dy * dy
            m = (r2 <= s * s) & (r2 >= (s * rng.uniform(0.45, 0.7)) ** 2)
        if m.sum() < 30 * k * k:
            continue
        placed.append((cx, cy, s))
        colour = rng.uniform(0, 255, 3)
        colour[rng.integers(0, 3)] = rng.choice([20.0, 235.0])  # saturated, so shapes stand out from clutter
        img[m] = colour
        if kind < len(CLASSES):
            mask[m] = kind + 1
            ys, xs = np.nonzero(m)
            # Pixel i covers [i, i + 1): the box of the drawn mask.
            objects.append((kind, float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)))
    for _ in range(rng.integers(0, 3)):  # thin lines over everything (the boxes keep the shapes' whole extent)
        a, d, w = rng.uniform(0, math.pi), rng.uniform(-size, size), rng.uniform(0.5, 1.5) * k
        m = np.abs(xx * math.cos(a) + yy * math.sin(a) - d) < w
        img[m] = img[m] * 0.3 + rng.uniform(0, 255, 3) * 0.7
        mask[m] = 0
    img = img.clip(0, 255).astype(np.uint8)
    return (img, objects, mask) if with_mask else (img, objects)


def make_set(start, count, seed, size=IMG, with_mask=False):
    """Images start .. start + count - 1, generated in worker processes (spawned: the parent may hold CUDA)."""
    import multiprocessing as mp
    jobs = [(start + i, seed, size, with_mask) for i in range(count)]
    workers = max(1, min(16, os.cpu_count() or 1))
    if workers == 1 or count < 64:
        return [make_image(*j) for j in jobs]
    with mp.get_context("spawn").Pool(workers) as pool:
        return pool.starmap(make_image, jobs, chunksize=64)


# --- model ---------------------------------------------------------------------------------------------------------

def build_model(torch, nc, img=IMG):
    """The detector for img x img inputs (img a multiple of 32). Its anchor tables are not in the state dict, so one
    set of weights loads into any size."""
    nn = torch.nn
    c3, c4, c5, hid = 48, 64, 96, 40  # about 660k parameters: a 2.6 MB ONNX file

    def conv(c1, c2, k=3, s=1):
        return nn.Sequential(nn.Conv2d(c1, c2, k, s, k // 2, bias=False), nn.BatchNorm2d(c2), nn.SiLU())

    class C2f(nn.Module):
        """YOLOv8's C2f with two 1x1 convolutions instead of a split (exports without Split)."""

        def __init__(self, c1, c2, n=1):
            super().__init__()
            h = c2 // 2
            self.a, self.b = conv(c1, h, 1), conv(c1, h, 1)
            self.m = nn.ModuleList([nn.Sequential(conv(h, h), conv(h, h)) for _ in range(n)])
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
            self.box = nn.Sequential(conv(c, hid), conv(hid, hid), nn.Conv2d(hid, 4, 1))
            self.cls = nn.Sequential(conv(c, hid), conv(hid, hid), nn.Conv2d(hid, nc, 1))
            nn.init.constant_(self.cls[-1].bias, -4.6)  # sigmoid 0.01: few confident negatives at the start

    class Detector(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(conv(3, 16, 3, 2), conv(16, 32, 3, 2), C2f(32, 32))
            self.s3 = nn.Sequential(conv(32, c3, 3, 2), C2f(c3, c3))
            self.s4 = nn.Sequential(conv(c3, c4, 3, 2), C2f(c4, c4))
            self.s5 = nn.Sequential(conv(c4, c5, 3, 2), C2f(c5, c5), SPPF(c5))
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.u4, self.u3 = C2f(c5 + c4, c4), C2f(c4 + c3, c3)
            self.down3, self.d4 = conv(c3, c3, 3, 2), C2f(c3 + c4, c4)
            self.down4, self.d5 = conv(c4, c4, 3, 2), C2f(c4 + c5, c5)
            self.heads = nn.ModuleList([Head(c3), Head(c4), Head(c5)])
            # Anchor points per level, row-major like the flattened feature maps; counts are plain ints, so the
            # exported Reshape targets are constants ([-1, C, n]) and only the batch is dynamic.
            self.counts = [(img // s) ** 2 for s in STRIDES]
            anchors, scale = [], []
            for s in STRIDES:
                n = img // s
                ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
                anchors.append(torch.stack([xs, ys], 0).reshape(2, -1).float() * s + s / 2)
                scale.append(torch.full((1, n * n), 8.0 * s))
            self.register_buffer("anchors", torch.cat(anchors, 1), persistent=False)  # [2, N] cell centres, pixels
            self.register_buffer("scale", torch.cat(scale, 1), persistent=False)  # [1, N] largest distance, pixels
            self.register_buffer("stride", torch.cat(scale, 1) / 8.0, persistent=False)  # [1, N]

        def raw(self, x):
            """Box logits [B, 4, N] and class logits [B, nc, N]."""
            p3 = self.s3(self.stem(x))
            p4 = self.s4(p3)
            p5 = self.s5(p4)
            u4 = self.u4(torch.cat([self.up(p5), p4], 1))
            o3 = self.u3(torch.cat([self.up(u4), p3], 1))
            o4 = self.d4(torch.cat([self.down3(o3), u4], 1))
            o5 = self.d5(torch.cat([self.down4(o4), p5], 1))
            levels = list(zip(self.heads, (o3, o4, o5), self.counts))
            box = torch.cat([h.box(o).reshape(-1, 4, n) for h, o, n in levels], 2)
            cls = torch.cat([h.cls(o).reshape(-1, nc, n) for h, o, n in levels], 2)
            return box, cls

        def decode(self, box):
            """Corners (x1y1 [B, 2, N], x2y2 [B, 2, N]) in input pixels from box logits."""
            d = torch.sigmoid(box) * self.scale  # l, t, r, b distances from the anchor point
            return self.anchors - d[:, :2], self.anchors + d[:, 2:]

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

    def area(t):
        return (t[..., 2:] - t[..., :2]).clamp(min=0).prod(-1)

    union = area(a) + area(b) - inter + 1e-7
    iou = inter / union
    if not giou:
        return iou
    hull = (torch.max(a[..., 2:], b[..., 2:]) - torch.min(a[..., :2], b[..., :2])).clamp(min=0).prod(-1) + 1e-7
    return iou - (hull - union) / hull


def assign(torch, anchors, strides, targets):
    """Per anchor point: the index of its object (-1: background), for one image's [(cls, x1, y1, x2, y2)].
    anchors [2, N] and strides [N] are CPU tensors; the smallest object wins an anchor that several could take."""
    n = anchors.shape[1]
    owner = torch.full((n,), -1, dtype=torch.long)
    if len(targets) == 0:
        return owner
    gt = torch.tensor([t[1:] for t in targets], dtype=torch.float32)  # [G, 4]
    ax, ay, st = anchors[0][None], anchors[1][None], strides[None]  # [1, N]
    cx, cy = ((gt[:, 0] + gt[:, 2]) / 2)[:, None], ((gt[:, 1] + gt[:, 3]) / 2)[:, None]
    inside = (ax > gt[:, 0:1]) & (ax < gt[:, 2:3]) & (ay > gt[:, 1:2]) & (ay < gt[:, 3:4])
    centre = ((ax - cx).abs() < 2.5 * st) & ((ay - cy).abs() < 2.5 * st)
    side = torch.max(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1])[:, None]
    level = ((st == 8) & (side < 48)) | ((st == 16) & (side >= 24) & (side < 96)) | ((st == 32) & (side >= 48))
    ok = inside & centre & level  # [G, N]
    area = ((gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]))[:, None].expand(-1, n)
    cost = torch.where(ok, area, torch.full_like(area, float("inf")))
    best, idx = cost.min(0)
    found = torch.isfinite(best)
    owner[found] = idx[found]
    for g in range(gt.shape[0]):  # every object gets at least its nearest anchor point on a level it suits
        if not bool((owner == g).any()):
            d = (ax[0] - cx[g]) ** 2 + (ay[0] - cy[g]) ** 2 + (~level[g]).float() * 1e9
            owner[int(d.argmin())] = g
    return owner


def pick_device(torch, log):
    """'cuda' with cuDNN autotuning when a GPU is there, else 'cpu' (the time budget then ends training early)."""
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True
        log(f"training on {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
        return "cuda"
    log("no CUDA device: training on the CPU (slow; the time budget will end it early)")
    return "cpu"


def lr_factor(progress):
    """Linear warm-up over the first 5 %, then cosine down to 2 % of the peak."""
    if progress < 0.05:
        return max(progress / 0.05, 0.01)
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - 0.05) / 0.95)))


def train(args, torch, model, data, device, log):
    import numpy as np
    images = torch.from_numpy(np.stack([d[0] for d in data])).permute(0, 3, 1, 2).contiguous().to(device)  # uint8
    # Assignments are fixed per image (no geometric augmentation), so they are computed once, on the CPU.
    anchors, strides = model.anchors.detach().cpu(), model.stride.detach().cpu()[0]
    n = anchors.shape[1]
    gt_box = torch.zeros(len(data), n, 4)
    gt_cls = torch.full((len(data), n), -1, dtype=torch.long)
    for k, (_, objs) in enumerate(data):
        owner = assign(torch, anchors, strides, objs)
        pos = owner >= 0
        if bool(pos.any()):
            gt_box[k, pos] = torch.tensor([o[1:] for o in objs], dtype=torch.float32)[owner[pos]]
            gt_cls[k, pos] = torch.tensor([o[0] for o in objs], dtype=torch.long)[owner[pos]]
    gt_box, gt_cls = gt_box.to(device), gt_cls.to(device)
    log(f"assigned {int((gt_cls >= 0).sum())} positive anchor points over {len(data)} images")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    per_epoch = math.ceil(len(data) / args.batch)
    total = args.epochs * per_epoch
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    model.train()
    step, epochs_done, progress = 0, 0, 0.0
    for epoch in range(args.epochs):
        perm = torch.randperm(len(data), generator=gen).to(device)
        running, sampled, batches = 0.0, 0, 0
        for i in range(0, len(data), args.batch):
            # The schedule follows steps or the time budget, whichever is further along, so it always anneals.
            progress = max(step / total, (time.time() - t0) / args.max_seconds)
            if progress >= 1:
                break
            for group in opt.param_groups:
                group["lr"] = args.lr * lr_factor(progress)
            idx = perm[i:i + args.batch]
            x = images[idx].float() / 255
            x = x + torch.randn_like(x) * NOISE
            box, cls = model.raw(x)
            x1y1, x2y2 = model.decode(box)
            pred = torch.cat([x1y1, x2y2], 1).permute(0, 2, 1)  # [B, N, 4]
            gcls = gt_cls[idx]  # [B, N]
            gbox = gt_box[idx]  # [B, N, 4]
            bi, ni = (gcls >= 0).nonzero(as_tuple=True)
            p, g = pred[bi, ni], gbox[bi, ni]
            box_loss = (1 - iou_xyxy(torch, p, g, giou=True)).sum()
            cls_t = torch.zeros_like(cls)
            cls_t[bi, gcls[bi, ni], ni] = iou_xyxy(torch, p.detach(), g).clamp(min=0.1)
            cls_loss = torch.nn.functional.binary_cross_entropy_with_logits(cls, cls_t, reduction="sum")
            loss = (cls_loss + 5.0 * box_loss) / max(int(bi.numel()), 1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            batches += 1
            if batches % 25 == 1:
                running += float(loss)  # a host sync now and then, not every step
                sampled += 1
        epochs_done = epoch + 1
        log(f"epoch {epoch + 1}/{args.epochs}: {batches} steps, loss {running / max(1, sampled):.4f}, "
            f"lr {args.lr * lr_factor(min(progress, 1.0)):.2e} ({time.time() - t0:.0f} s)")
        if progress >= 1:
            log(f"the schedule ended at step {step} ({time.time() - t0:.0f} s of a {args.max_seconds:.0f} s budget)")
            break
    model.eval()
    return epochs_done, step, time.time() - t0


# --- evaluation (the rules of postprocess.nms and lib/vision/metrics.ts) -------------------------------------------

def detect(torch, torchvision, model, images, nms=NMS):
    """Detections per image, [x1, y1, x2, y2, score, class] best first, rounded as stored in test.json."""
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 32):
            x = torch.from_numpy(images[i:i + 32]).permute(0, 3, 1, 2).float() / 255
            y = model(x)  # [B, 4 + C, N]
            for r in y:
                boxes = torch.cat([r[:2] - r[2:4] / 2, r[:2] + r[2:4] / 2], 0).T  # [N, 4]
                scores = r[4:].T  # [N, C]
                # Every (box, class) pair above the threshold is a candidate, as in the engines' NMS stage.
                bi, ci = (scores > nms["scoreThreshold"]).nonzero(as_tuple=True)
                b, s = boxes[bi], scores[bi, ci]
                keep = torchvision.ops.batched_nms(b, s, ci, nms["iouThreshold"])[:nms["maxDetections"]]
                out.append([[round(float(v), 2) for v in b[j]] + [round(float(s[j]), 5), int(ci[j])] for j in keep.tolist()])
    return out


def average_precision(dets, gts, cls, iou_thr=0.5):
    """All-point interpolated AP of one class; dets[i] = [x1, y1, x2, y2, score, class], gts[i] = [(class, box...)].
    Returns (ap or None without ground truth, true positives, detections, ground truth count)."""
    import numpy as np
    items = [(d[4], i, d[:4]) for i, ds in enumerate(dets) for d in ds if d[5] == cls]
    items.sort(key=lambda t: -t[0])  # stable: ties keep image and detection order, as the TypeScript sort does
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
    hits = float(sum(tp))
    if npos == 0:
        return None, hits, len(tp), npos
    ctp = np.cumsum(np.array(tp, dtype=np.float64))
    rec = ctp / npos
    prec = ctp / np.arange(1, len(tp) + 1)
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[1.0], prec, [0.0]])
    for k in range(len(mpre) - 2, -1, -1):
        mpre[k] = max(mpre[k], mpre[k + 1])
    ap = 0.0
    for k in range(1, len(mrec)):  # summed in order, as lib/vision/metrics.ts sums
        ap += float(mrec[k] - mrec[k - 1]) * float(mpre[k])
    return ap, hits, len(tp), npos


def metrics(dets, gts, score_threshold=SCORE_THRESHOLD):
    per = {}
    aps = []
    kept = [[d for d in ds if d[4] >= score_threshold] for ds in dets]
    for c, name in enumerate(CLASSES):
        ap, _, _, npos = average_precision(dets, gts, c)
        _, tp, n, _ = average_precision(kept, gts, c)
        per[name] = {"ap50": ap, "precision": tp / n if n else 0.0, "recall": tp / npos if npos else 0.0, "instances": npos}
        if ap is not None:
            aps.append(ap)
    return {"map50": sum(aps) / len(aps) if aps else 0.0, "scoreThreshold": score_threshold, "perClass": per}


def export_onnx(torch, model, path, img):
    torch.onnx.export(model, (torch.zeros(2, 3, img, img),), path, input_names=["images"], output_names=["output0"],
                      dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}}, opset_version=17, dynamo=False,
                      do_constant_folding=True)


def main():
    args = parse_args()
    import numpy as np
    os.makedirs(args.out, exist_ok=True)
    logf = open(os.path.join(args.out, "train.log"), "w")

    def log(msg):
        print(f"[shapes] {msg}", flush=True)
        logf.write(msg + "\n")
        logf.flush()

    t0 = time.time()
    # The data first, before torch touches CUDA.
    train_set = make_set(0, args.train, args.seed)
    test_set = make_set(10_000_000, args.test, args.seed)  # a disjoint index range: held out
    log(f"data: {len(train_set)} train, {len(test_set)} held-out images in {time.time() - t0:.1f} s")

    import torch
    import torchvision
    torch.manual_seed(args.seed)
    device = pick_device(torch, log)
    model = build_model(torch, len(CLASSES)).to(device)
    log(f"model: {sum(p.numel() for p in model.parameters())} parameters")
    epochs, steps, secs = train(args, torch, model, train_set, device, log)

    # Evaluation and export on the CPU, in plain FP32 (no TF32), as the engines' FP32 reference computes.
    model = model.cpu().eval()
    test_images = np.stack([d[0] for d in test_set])
    gts = [d[1] for d in test_set]
    dets = detect(torch, torchvision, model, test_images)
    m = metrics(dets, gts)
    log(f"held-out mAP@0.5 {m['map50']:.4f}; at score {SCORE_THRESHOLD}: " + ", ".join(
        f"{k} AP {v['ap50'] if v['ap50'] is not None else float('nan'):.3f} P {v['precision']:.3f} R {v['recall']:.3f}" for k, v in m["perClass"].items()))

    onnx_path = os.path.join(args.out, "shapes_yolo.onnx")
    export_onnx(torch, model, onnx_path, IMG)
    log(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB)")
    ort_err = None
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        x = test_images[:8].transpose(0, 3, 1, 2).astype(np.float32) / 255
        got = sess.run(None, {"images": x})[0]
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        ort_err = float(np.linalg.norm(got - want) / np.linalg.norm(want))
        log(f"onnxruntime vs torch on 8 held-out images: relative error {ort_err:.2e} (output {list(got.shape)})")
    except Exception as e:  # noqa: BLE001 - the cross-check is optional
        log(f"onnxruntime cross-check skipped: {type(e).__name__}: {e}")

    if args.imgsz_export:
        big = args.imgsz_export
        try:
            os.makedirs(args.bench_out, exist_ok=True)
            model_big = build_model(torch, len(CLASSES), big)
            model_big.load_state_dict(model.state_dict())  # anchors are not in the state dict: same weights, new grid
            model_big.eval()
            big_path = os.path.join(args.bench_out, f"shapes_yolo_{big}.onnx")
            export_onnx(torch, model_big, big_path, big)
            log(f"wrote {big_path} ({os.path.getsize(big_path) / 1e6:.2f} MB, output [batch, {4 + len(CLASSES)}, {sum(model_big.counts)}])")
        except Exception as e:  # noqa: BLE001 - the fixture below matters more than the benchmark model
            log(f"the {big}x{big} export failed: {type(e).__name__}: {e}")

    with gzip.open(os.path.join(args.out, "test-images.u8.gz"), "wb", compresslevel=9) as f:
        f.write(np.ascontiguousarray(test_images).tobytes())
    try:
        from PIL import Image
        Image.fromarray(test_images[0]).save(os.path.join(args.out, "sample.png"))
    except Exception as e:  # noqa: BLE001 - the picture is optional
        log(f"sample.png skipped: {type(e).__name__}: {e}")
    with open(os.path.join(args.out, "labels.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    report = {
        "format": FORMAT, "model": "shapes_yolo.onnx", "count": len(test_set), "shape": [IMG, IMG, 3], "dtype": "uint8",
        "layout": "NHWC RGB", "images": "test-images.u8.gz", "preprocessing": "RGB / 255, NCHW float32",
        "classes": CLASSES, "boxes": [[[o[0], o[1], o[2], o[3], o[4]] for o in g] for g in gts],
        "boxFormat": "[class, x1, y1, x2, y2] pixels", "output": "output0 [batch, 4 + classes, 525]: cx, cy, w, h, scores",
        "seed": args.seed, "train": len(train_set), "epochs": epochs, "steps": steps, "trainSeconds": round(secs, 1),
        "nms": NMS,
        "torch": {"version": torch.__version__, "device": "cpu", "precision": "fp32", **m, "detections": dets},
        "onnxruntimeVsTorch": ort_err, "onnxSha256": sha,
    }
    with open(os.path.join(args.out, "test.json"), "w") as f:
        json.dump(report, f)
    gz = os.path.getsize(os.path.join(args.out, "test-images.u8.gz"))
    log(f"wrote {args.out} (test-images.u8.gz {gz / 1e6:.2f} MB) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
