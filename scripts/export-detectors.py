#!/usr/bin/env python3
"""Exports torchvision's SSDlite320 (MobileNetV3-Large) as raw boxes and scores for the postprocess.nms stage, with
torchvision's own detections on two seeded inputs, for test/gpu/detect.test.ts (and its reference twin in test/unit).

The network: torchvision's ssdlite320_mobilenet_v3_large recipe (reduced tail, DefaultBoxGenerator with aspect ratios
[2, 3] on six maps, SSDLiteHead, BoxCoder weights (10, 10, 5, 5), mean / std 0.5) with 91 classes and no download. With
--width 1 it is the builder itself; a smaller width scales the backbone (width_mult, which the builder passes on) and
the four extra blocks too (which the builder leaves at full width: with 91 classes their head alone would make a 4 MB
file). The default tries 0.5, 0.35, 0.25 and keeps the widest whose ONNX file is at most --max-mb. Seeded; BatchNorm
running statistics calibrated on random images (train mode, momentum None); the classification head's last layers
get a logit scale (std 3) and biases (background high, the 90 classes each their own offset), chosen so that, as in a
trained detector, most anchors are background and each class keeps at most 150 candidates above torchvision's score
threshold 0.001 (so its per-class top-300 never binds, nor the stage's 4096 candidates per image).

ssdlite320.onnx (opset 17, FP32, dynamic batch):
  images  [B, 3, 320, 320]  RGB in [0, 1] (normalised inside)
  boxes   [B, 3234, 4]      decoded in the graph from torchvision's anchors: x1, y1, x2, y2 in input pixels, clipped
  scores  [B, 3234, 90]     softmax over the 91 classes with the background column dropped: class k is label k + 1
ssdlite320.expect.json: the inputs (xorshift32 as lib/util/random.ts, seeds 1001 and 1002, x = (u + 1) / 2), the
  parameters of torchvision's postprocess (score > 0.001, per class top 300, batched NMS at IoU 0.55, 300 per image),
  and its detections (boxes, scores, labels) from the full model in eval mode on the CPU.
Usage: python3 scripts/export-detectors.py [--out test/fixtures/models] [--width W] [--seed 0]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

SIZE = 320
SEEDS = (1001, 1002)
SCORE_THRESH, NMS_THRESH, DETECTIONS, TOPK = 0.001, 0.55, 300, 300


def log(msg):
    print(f"[detectors] {msg}", flush=True)


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "models"))
    p.add_argument("--width", type=float, default=0.0, help="width multiplier (0: the widest of 0.5, 0.35, 0.25 that fits)")
    p.add_argument("--max-mb", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def xorshift_images(np):
    """The test inputs, as lib/util/random.ts makes them: fillUniform(new Float32Array(3 * 320 * 320), seed) for each
    seed, then x = (u + 1) / 2 in float32 (the same rounding as the TypeScript Float32Array store)."""
    out = []
    n = 3 * SIZE * SIZE
    for seed in SEEDS:
        s = seed & 0xFFFFFFFF or 1
        u = np.empty(n, dtype=np.float64)
        for i in range(n):
            s ^= (s << 13) & 0xFFFFFFFF
            s ^= s >> 17
            s ^= (s << 5) & 0xFFFFFFFF
            u[i] = (s / 2 ** 32) * 2 - 1
        f = u.astype(np.float32)
        out.append(((f + np.float32(1)) * np.float32(0.5)).astype(np.float32).reshape(3, SIZE, SIZE))
    return np.stack(out)


def build_ssdlite(torch, torchvision, width, seed):
    """torchvision's ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91), the extra
    blocks scaled by `width` as well when it is below 1."""
    from functools import partial
    from torchvision.models.detection import _utils as det_utils
    from torchvision.models.detection import ssdlite
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    from torchvision.models.detection.ssd import SSD

    torch.manual_seed(seed)
    if width >= 1.0:
        return torchvision.models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91)
    norm_layer = partial(torch.nn.BatchNorm2d, eps=0.001, momentum=0.03)
    mbv3 = torchvision.models.mobilenet_v3_large(weights=None, norm_layer=norm_layer, reduced_tail=True, width_mult=width)
    ssdlite._normal_init(mbv3)
    features = mbv3.features
    stages = [0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)] + [len(features) - 1]
    backbone = ssdlite.SSDLiteFeatureExtractorMobileNet(features, stages[-2], norm_layer, width_mult=width)
    anchor_generator = DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2, max_ratio=0.95)
    out_channels = det_utils.retrieve_out_channels(backbone, (SIZE, SIZE))
    head = ssdlite.SSDLiteHead(out_channels, anchor_generator.num_anchors_per_location(), 91, norm_layer)
    return SSD(backbone, anchor_generator, (SIZE, SIZE), 91, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], head=head,
               score_thresh=SCORE_THRESH, nms_thresh=NMS_THRESH, detections_per_img=DETECTIONS, topk_candidates=TOPK)


def make_raw(torch, ssd):
    """The export: images -> (boxes, scores) as SSD.postprocess_detections computes them before its per-class
    selection (BoxCoder.decode_single and clip_boxes_to_image, softmax), with constant reshapes (only the batch varies)."""
    from torchvision.models.detection.image_list import ImageList

    nn = torch.nn
    with torch.no_grad():
        ssd.eval()
        x = torch.zeros(1, 3, SIZE, SIZE)
        feats = list(ssd.backbone(x).values())
        anchors = ssd.anchor_generator(ImageList(x, [(SIZE, SIZE)]), feats)[0]  # [N, 4] corners, pixels
    grids = [(f.shape[2], f.shape[3]) for f in feats]
    per_loc = ssd.anchor_generator.num_anchors_per_location()
    if anchors.shape[0] != sum(h * w * a for (h, w), a in zip(grids, per_loc)):
        raise RuntimeError(f"{anchors.shape[0]} anchors for grids {grids} x {per_loc}")

    class Raw(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = ssd.backbone, ssd.head
            self.register_buffer("mean", torch.tensor(ssd.transform.image_mean).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(ssd.transform.image_std).view(1, 3, 1, 1))
            # BoxCoder.decode_single's anchor terms, computed as it computes them.
            widths = anchors[:, 2] - anchors[:, 0]
            heights = anchors[:, 3] - anchors[:, 1]
            self.register_buffer("widths", widths)
            self.register_buffer("heights", heights)
            self.register_buffer("ctr_x", anchors[:, 0] + 0.5 * widths)
            self.register_buffer("ctr_y", anchors[:, 1] + 0.5 * heights)
            self.weights = tuple(float(w) for w in ssd.box_coder.weights)
            self.clip = float(ssd.box_coder.bbox_xform_clip)

        def flat(self, scoring, feats, columns):
            # [B, A*K, H, W] -> [B, H*W*A, K]: SSDScoringHead's order, through one 4-D permute.
            outs = []
            for i, (f, (h, w), a) in enumerate(zip(feats, grids, per_loc)):
                y = scoring.module_list[i](f).permute(0, 2, 3, 1)
                outs.append(y.reshape(-1, h * w * a, columns))
            return torch.cat(outs, 1)

        def heads(self, images):
            """Box deltas [B, N, 4] and class logits [B, N, 91]."""
            feats = list(self.backbone((images - self.mean) / self.std).values())
            return self.flat(self.head.regression_head, feats, 4), self.flat(self.head.classification_head, feats, 91)

        def forward(self, images):
            rel, logits = self.heads(images)
            wx, wy, ww, wh = self.weights
            dx, dy = rel[:, :, 0] / wx, rel[:, :, 1] / wy
            dw = torch.clamp(rel[:, :, 2] / ww, max=self.clip)
            dh = torch.clamp(rel[:, :, 3] / wh, max=self.clip)
            pred_ctr_x = dx * self.widths + self.ctr_x
            pred_ctr_y = dy * self.heights + self.ctr_y
            half_w = 0.5 * (torch.exp(dw) * self.widths)
            half_h = 0.5 * (torch.exp(dh) * self.heights)
            boxes = torch.stack([pred_ctr_x - half_w, pred_ctr_y - half_h, pred_ctr_x + half_w, pred_ctr_y + half_h], 2)
            boxes = boxes.clamp(min=0.0, max=float(SIZE))  # clip_boxes_to_image (square)
            scores = torch.softmax(logits, -1)[:, :, 1:]
            return boxes, scores

    return Raw().eval(), anchors


def calibrate(torch, ssd, raw):
    """BatchNorm running statistics from random images: train mode, cumulative averages (momentum None)."""
    g = torch.Generator().manual_seed(1)
    for m in ssd.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    raw.train()
    with torch.no_grad():
        for _ in range(4):
            raw(torch.rand(8, 3, SIZE, SIZE, generator=g))
    raw.eval()
    ssd.eval()


def candidate_counts(np, logits, background):
    """Per image and class, the anchors whose softmax score passes the threshold, with this background bias."""
    zb = logits[:, :, 0] + background
    zf = logits[:, :, 1:]
    m = np.maximum(zb, zf.max(-1))
    e = np.exp(zf - m[..., None])
    p = e / (np.exp(zb - m) + e.sum(-1))[..., None]
    per_class = (p > SCORE_THRESH).sum(1)  # [B, 90]
    return int(per_class.max()), int(per_class.sum(1).max())


def shape_head(torch, np, ssd, raw, x, seed):
    """Gives the last classification convolutions a trained detector's statistics: foreground logits with std 3 and
    a per-class offset, the background logit high enough that each class keeps at most 150 candidates per image."""
    convs = [blk[-1] for blk in ssd.head.classification_head.module_list]
    g = torch.Generator().manual_seed(seed + 7)
    offsets = torch.rand(90, generator=g) * 2 - 1
    with torch.no_grad():
        for c in convs:
            c.bias.zero_()
        logits = raw.heads(x)[1]  # [B, N, 91], no bias
        std = float(logits[:, :, 1:].std())
        for c in convs:
            c.weight.mul_(3.0 / std)
            a = c.bias.numel() // 91
            c.bias.copy_(torch.cat([torch.zeros(1), offsets]).repeat(a))
        logits = raw.heads(x)[1].double().numpy()
    lo, hi = -20.0, 80.0
    for _ in range(60):
        mid = (lo + hi) / 2
        per_class, per_image = candidate_counts(np, logits, mid)
        if per_class <= 150 and per_image <= 3000:
            hi = mid
        else:
            lo = mid
    background = hi
    with torch.no_grad():
        for c in convs:
            a = c.bias.numel() // 91
            c.bias[torch.arange(a) * 91] = background
    per_class, per_image = candidate_counts(np, logits, background)
    log(f"class head: logit scale x{3.0 / std:.3g}, background bias {background:.3f}: at most {per_class} candidates per class, {per_image} per image")
    return {"logitStd": 3.0, "backgroundBias": background, "maxCandidatesPerClass": per_class, "maxCandidatesPerImage": per_image}


def torchvision_postprocess(torch, torchvision, boxes, scores):
    """SSD.postprocess_detections on the exported outputs (one image): per class above the threshold, top 300,
    batched NMS, the best 300."""
    ib, isc, il = [], [], []
    for label in range(1, scores.shape[1] + 1):
        s = scores[:, label - 1]
        keep = s > SCORE_THRESH
        s, b = s[keep], boxes[keep]
        s, idx = s.topk(min(TOPK, s.numel()))
        ib.append(b[idx])
        isc.append(s)
        il.append(torch.full_like(s, label, dtype=torch.int64))
    b, s, lab = torch.cat(ib), torch.cat(isc), torch.cat(il)
    keep = torchvision.ops.batched_nms(b, s, lab, NMS_THRESH)[:DETECTIONS]
    return b[keep], s[keep], lab[keep]


def export(torch, raw, path):
    torch.onnx.export(raw, (torch.zeros(2, 3, SIZE, SIZE),), path, input_names=["images"], output_names=["boxes", "scores"],
                      dynamic_axes={n: {0: "batch"} for n in ("images", "boxes", "scores")}, opset_version=17,
                      dynamo=False, do_constant_folding=True)


def main():
    args = parse_args()
    import numpy as np
    import torch
    import torchvision

    t0 = time.time()
    torch.set_grad_enabled(False)
    x_np = xorshift_images(np)
    x = torch.from_numpy(x_np)
    log(f"inputs: xorshift32 seeds {list(SEEDS)}, mean {float(x.mean()):.6f} ({time.time() - t0:.1f} s)")
    os.makedirs(args.out, exist_ok=True)
    widths = [args.width] if args.width > 0 else [0.5, 0.35, 0.25]
    chosen = None
    for width in widths:
        ssd = build_ssdlite(torch, torchvision, width, args.seed)
        raw, anchors = make_raw(torch, ssd)
        calibrate(torch, ssd, raw)
        head = shape_head(torch, np, ssd, raw, x, args.seed)
        tmp = os.path.join(tempfile.mkdtemp(), "ssdlite320.onnx")
        export(torch, raw, tmp)
        mb = os.path.getsize(tmp) / 1e6
        log(f"width {width}: {sum(p.numel() for p in ssd.parameters())} parameters, ONNX {mb:.2f} MB")
        if mb <= args.max_mb or width == widths[-1]:
            chosen = (width, ssd, raw, anchors, head, tmp, mb)
            break
    width, ssd, raw, anchors, head, tmp, mb = chosen
    onnx_path = os.path.join(args.out, "ssdlite320.onnx")
    if mb > args.max_mb:
        log(f"the smallest width still gives {mb:.2f} MB > {args.max_mb} MB: not written to {args.out}")
        onnx_path = os.path.join(os.path.dirname(tmp), "ssdlite320.onnx")
    else:
        shutil.move(tmp, onnx_path)
    log(f"wrote {onnx_path} (width {width}, {anchors.shape[0]} anchors)")

    # torchvision's own detections: the full model in eval mode, its transform and postprocess included.
    ssd.eval()
    tv = ssd([x[0], x[1]])
    boxes, scores = raw(x)
    check = {"sameCount": True, "maxBoxDiff": 0.0, "maxScoreDiff": 0.0, "sameLabels": True}
    for i in range(2):
        b, s, lab = torchvision_postprocess(torch, torchvision, boxes[i], scores[i])
        t = tv[i]
        if b.shape[0] != t["boxes"].shape[0]:
            check["sameCount"] = False
            continue
        check["maxBoxDiff"] = max(check["maxBoxDiff"], float((b - t["boxes"]).abs().max()) if b.numel() else 0.0)
        check["maxScoreDiff"] = max(check["maxScoreDiff"], float((s - t["scores"]).abs().max()) if s.numel() else 0.0)
        check["sameLabels"] = check["sameLabels"] and bool((lab == t["labels"]).all())
    log(f"the exported outputs through torchvision's postprocess vs the full model: {check}")
    ort_check = None
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        ob, osc = sess.run(["boxes", "scores"], {"images": x_np})
        ort_check = {"boxesMaxAbs": float(np.abs(ob - boxes.numpy()).max()), "scoresMaxAbs": float(np.abs(osc - scores.numpy()).max())}
        log(f"onnxruntime vs torch: {ort_check}")
    except Exception as e:  # noqa: BLE001 - optional
        log(f"onnxruntime check skipped: {type(e).__name__}: {e}")

    expect = {
        "model": "ssdlite320.onnx",
        "torch": torch.__version__, "torchvision": torchvision.__version__, "seed": args.seed, "width": width,
        "recipe": "torchvision ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91)"
                  + ("" if width >= 1 else f", backbone and extra blocks at width_mult {width}"),
        "inputs": {"generator": "xorshift32 uniform in [-1, 1) (lib/util/random.ts fillUniform)", "seeds": list(SEEDS),
                   "shape": [3, SIZE, SIZE], "transform": "x = (u + 1) / 2 in float32, NCHW RGB in [0, 1]",
                   "sums": [float(x_np[i].astype(np.float64).sum()) for i in range(2)], "first": [float(v) for v in x_np[0].ravel()[:4]]},
        "outputs": {"boxes": f"[B, {anchors.shape[0]}, 4] x1, y1, x2, y2 in input pixels, clipped to the image",
                    "scores": f"[B, {anchors.shape[0]}, 90] softmax over 91 classes, background dropped: class k is torchvision label k + 1"},
        "postprocess": {"scoreThreshold": SCORE_THRESH, "scoreRule": "strictly greater", "iouThreshold": NMS_THRESH,
                        "perClass": True, "topkCandidatesPerClass": TOPK, "detectionsPerImage": DETECTIONS,
                        "boxCoderWeights": [float(w) for w in ssd.box_coder.weights], "labelOffset": 1},
        "head": head, "wrapperCheck": check, "onnxruntime": ort_check,
        "detections": [{"boxes": [[float(v) for v in b] for b in t["boxes"]], "scores": [float(v) for v in t["scores"]],
                        "labels": [int(v) for v in t["labels"]]} for t in tv],
    }
    with open(os.path.join(args.out, "ssdlite320.expect.json"), "w") as f:
        json.dump(expect, f)
    log(f"torchvision detections per image: {[len(t['scores']) for t in tv]}, top scores "
        f"{[round(float(t['scores'][0]), 4) if len(t['scores']) else None for t in tv]}; wrote ssdlite320.expect.json in {time.time() - t0:.0f} s")
    if not (check["sameCount"] and check["sameLabels"] and check["maxBoxDiff"] < 1e-3 and check["maxScoreDiff"] < 1e-5):
        log("WARNING: the exported outputs do not reproduce torchvision's detections; see wrapperCheck")
        sys.exit(1)


if __name__ == "__main__":
    main()
