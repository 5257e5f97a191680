#!/usr/bin/env python3
"""Trains the segmentation models of the three torchvision classes (LRASPP and DeepLabV3 on a half-width dilated
MobileNetV3-Large, the same constructors, input size, I/O names and 21 output classes as scripts/export-fixtures.py;
FCN on a dilated ResNet-50 at one-eighth width, and torchvision's full fcn_resnet50) on the shapes data of
scripts/train_shapes_detector.py, and exports them.

Why: seeded random heads give near-tied logits everywhere, so FP16 flips the argmax of 1-2 % of the pixels and the GPU
test (test/gpu/vision.test.ts: FP16 argmax agreement >= 99 %) measures the ties, not the engine. A trained model is
confident. Masks: background 0, circle 1, square 2, triangle 3, cross 4 (classes 5-20 never occur). Inputs: 96x96
RGB / 255 normalised with ImageNet's mean and std. The GPU test feeds uniform noise in [-2, 2]; so that such inputs
are in distribution, 30 % of the training images get that noise as their background and 10 % are pure noise (all
background).

Writes <name>.onnx into test/fixtures/models (or --out), opset 17, dynamic batch, input 'input' [batch, 3, 96, 96],
output 'out' [batch, 21, 96, 96], and records their held-out pixel accuracy, mIoU and logit margins in
fixtures-report.json there. About 60 s of training each on an H200 (--max-seconds).
The fixtures (small enough for the repository and for CI's reference backend): lraspp_mbv3, deeplabv3_mbv3 and
fcn_resnet50_slim (ResNet-50's 3-4-6-3 bottlenecks with one eighth of the channels, FCNHead, 2.1 MB).
fcn_resnet50 is the whole torchvision network (35 M parameters, 132 MB): train it onto the GPU machine's models/
for test/gpu/vision.test.ts, never into the repository.
Usage: python3 scripts/train_shapes_segmenters.py [--only lraspp_mbv3,deeplabv3_mbv3,fcn_resnet50_slim] [--max-seconds 60]
       python3 scripts/train_shapes_segmenters.py --only fcn_resnet50 --out models
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SIZE = 96
CLASSES = 21
SHAPE_CLASSES = 5  # background and the four shapes
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
FIXTURES = ("lraspp_mbv3", "deeplabv3_mbv3", "fcn_resnet50_slim")
NAMES = FIXTURES + ("fcn_resnet50",)
# The whole ResNet-50 trains from scratch more steadily at half the small models' rate.
LR_SCALE = {"fcn_resnet50": 0.5}


def log(msg):
    print(f"[segmenters] {msg}", flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(HERE, "..", "test", "fixtures", "models"))
    p.add_argument("--only", default=",".join(FIXTURES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train", type=int, default=8000)
    p.add_argument("--test", type=int, default=256)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-steps", type=int, default=4000)
    p.add_argument("--max-seconds", type=float, default=60, help="training time budget per model; the schedule anneals within it")
    return p.parse_args()


def build(torch, torchvision, name):
    """The architectures: LRASPP and DeepLabV3 constructed exactly as scripts/export-fixtures.py constructs them; FCN
    from torchvision's own classes (FCN, FCNHead, a ResNet of Bottleneck blocks dilated to output stride 8, as
    fcn_resnet50 builds it), at one eighth of ResNet-50's channels for the fixture."""
    from torch import nn
    from torchvision.models._utils import IntermediateLayerGetter
    from torchvision.models.resnet import Bottleneck, ResNet
    from torchvision.models.segmentation.deeplabv3 import ASPP, DeepLabV3
    from torchvision.models.segmentation.fcn import FCN, FCNHead
    from torchvision.models.segmentation.lraspp import _lraspp_mobilenetv3

    if name == "fcn_resnet50":
        return torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=CLASSES,
                                                            aux_loss=False)
    if name == "fcn_resnet50_slim":
        class EighthWidth(ResNet):
            def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
                return super()._make_layer(block, planes // 8, blocks, stride, dilate)

        backbone = EighthWidth(Bottleneck, [3, 4, 6, 3], replace_stride_with_dilation=[False, True, True])
        out_ch = 512 // 8 * Bottleneck.expansion
        return FCN(IntermediateLayerGetter(backbone, {"layer4": "out"}), FCNHead(out_ch, CLASSES))

    if name == "lraspp_mbv3":
        backbone = torchvision.models.mobilenet_v3_large(weights=None, dilated=True, width_mult=0.5)
        return _lraspp_mobilenetv3(backbone, CLASSES)
    backbone = torchvision.models.mobilenet_v3_large(weights=None, dilated=True, width_mult=0.5).features
    out_pos = [i for i, b in enumerate(backbone) if getattr(b, "_is_cn", False)][-1] if any(
        getattr(b, "_is_cn", False) for b in backbone) else len(backbone) - 1
    out_ch = backbone[out_pos].out_channels
    head = nn.Sequential(ASPP(out_ch, [12, 24, 36], out_channels=32), nn.Conv2d(32, 32, 3, padding=1, bias=False),
                         nn.BatchNorm2d(32), nn.ReLU(), nn.Conv2d(32, CLASSES, 1))
    return DeepLabV3(IntermediateLayerGetter(backbone, {str(out_pos): "out"}), head)


def batch_of(torch, images, masks, idx, mean, std, noisy=True):
    """Normalised inputs and targets; with `noisy`, the GPU test's uniform [-2, 2] noise as background (30 %) or as
    the whole image (10 %, all background)."""
    x = (images[idx].float() / 255 - mean) / std
    y = masks[idx]
    if noisy:
        b = x.shape[0]
        r = torch.rand(b, device=x.device)
        noise = torch.rand_like(x) * 4 - 2
        as_background = (r < 0.3).view(b, 1, 1, 1) & (y == 0).unsqueeze(1)
        x = torch.where(as_background, noise, x)
        pure = r >= 0.9
        x = torch.where(pure.view(b, 1, 1, 1), noise, x)
        y = torch.where(pure.view(b, 1, 1), torch.zeros_like(y), y)
    return x, y


def train(torch, model, data, args, device, name):
    from train_shapes_detector import lr_factor
    images, masks = data
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    lr = args.lr * LR_SCALE.get(name, 1.0)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(args.seed)
    model.train()
    t0 = time.time()
    step, running, sampled = 0, 0.0, 0
    while True:
        progress = max(step / args.max_steps, (time.time() - t0) / args.max_seconds)
        if progress >= 1:
            break
        for group in opt.param_groups:
            group["lr"] = lr * lr_factor(progress)
        idx = torch.randint(0, images.shape[0], (args.batch,), generator=gen).to(device)
        x, y = batch_of(torch, images, masks, idx, mean, std)
        loss = torch.nn.functional.cross_entropy(model(x)["out"], y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 1:
            running += float(loss)
            sampled += 1
        if step % 500 == 0:
            log(f"{name}: step {step}, loss {running / max(1, sampled):.4f} ({time.time() - t0:.0f} s)")
            running, sampled = 0.0, 0
    secs = time.time() - t0
    # Running statistics that match the final weights: cumulative averages over training batches, dropout off.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()
                m.momentum = None
        model.train()
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout):
                m.eval()
        for _ in range(20):
            idx = torch.randint(0, images.shape[0], (args.batch,), generator=gen).to(device)
            model(batch_of(torch, images, masks, idx, mean, std)[0])
    model.eval()
    log(f"{name}: {step} steps in {secs:.0f} s")
    return step, secs


def evaluate(torch, np, model, test, seed):
    """Held-out pixel accuracy and IoU per shape class (CPU, FP32), and the logit margins (top 1 - top 2) on clean
    images and on the GPU test's kind of input (uniform noise in [-2, 2])."""
    images, masks = test
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    inter = np.zeros(SHAPE_CLASSES)
    union = np.zeros(SHAPE_CLASSES)
    correct = total = 0
    margins = []
    with torch.no_grad():
        for i in range(0, images.shape[0], 64):
            idx = torch.arange(i, min(i + 64, images.shape[0]))
            x, y = batch_of(torch, images, masks, idx, mean, std, noisy=False)
            out = model(x)["out"]
            pred = out.argmax(1)
            top2 = out.topk(2, dim=1).values
            margins.append((top2[:, 0] - top2[:, 1]).flatten())
            correct += int((pred == y).sum())
            total += y.numel()
            for c in range(SHAPE_CLASSES):
                inter[c] += int(((pred == c) & (y == c)).sum())
                union[c] += int(((pred == c) | (y == c)).sum())
        g = torch.Generator().manual_seed(seed + 30)
        noise = torch.rand(8, 3, SIZE, SIZE, generator=g) * 4 - 2
        out = model(noise)["out"]
        top2 = out.topk(2, dim=1).values
        noise_margin = (top2[:, 0] - top2[:, 1]).flatten()
        noise_background = float((out.argmax(1) == 0).float().mean())
    m = torch.cat(margins)
    iou = [float(inter[c] / union[c]) if union[c] else None for c in range(SHAPE_CLASSES)]
    return {
        "pixelAccuracy": correct / total, "iou": iou, "mIoU": float(np.mean([v for v in iou if v is not None])),
        "marginMedian": float(m.median()), "marginBelow0.1": float((m < 0.1).float().mean()),
        "noise": {"background": noise_background, "marginMedian": float(noise_margin.median()), "marginBelow0.1": float((noise_margin < 0.1).float().mean())},
    }


def export(torch, np, model, path):
    """As scripts/export-fixtures.py exports: batch-1 example, dynamic batch, and an onnxruntime cross-check."""
    x = torch.randn(1, 3, SIZE, SIZE)
    torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["out"],
                      dynamic_axes={"input": {0: "batch"}, "out": {0: "batch"}}, opset_version=17, dynamo=False,
                      do_constant_folding=True)
    report = {"bytes": os.path.getsize(path), "opset": 17}
    try:
        import onnx
        report["ops"] = sorted({n.op_type for n in onnx.load(path).graph.node})
    except Exception as e:  # noqa: BLE001
        log(f"onnx op listing skipped: {e}")
    try:
        import onnxruntime as ort
        with torch.no_grad():
            want = model(x)["out"].numpy()
        got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
        report["ort_vs_torch_rel"] = [float(np.abs(got - want).max() / (np.abs(want).max() + 1e-12))]
    except Exception as e:  # noqa: BLE001
        log(f"onnxruntime cross-check skipped: {type(e).__name__}: {e}")
    return report


def main():
    args = parse_args()
    import numpy as np
    from train_shapes_detector import make_set

    t0 = time.time()
    train_set = make_set(0, args.train, args.seed, size=SIZE, with_mask=True)
    test_set = make_set(20_000_000, args.test, args.seed, size=SIZE, with_mask=True)
    log(f"data: {len(train_set)} train, {len(test_set)} held-out {SIZE}x{SIZE} images with masks in {time.time() - t0:.1f} s")

    import torch
    import torchvision
    from train_shapes_detector import pick_device
    device = pick_device(torch, log)

    def tensors(items, dev):
        imgs = torch.from_numpy(np.stack([d[0] for d in items])).permute(0, 3, 1, 2).contiguous().to(dev)
        masks = torch.from_numpy(np.stack([d[2] for d in items]).astype(np.int64)).to(dev)
        return imgs, masks

    train_data = tensors(train_set, device)
    test_data = tensors(test_set, "cpu")
    os.makedirs(args.out, exist_ok=True)
    report_path = os.path.join(args.out, "fixtures-report.json")
    try:
        with open(report_path) as f:
            fixtures = json.load(f)
    except (OSError, ValueError):
        fixtures = {"models": {}}
    for name in [n for n in args.only.split(",") if n]:
        if name not in NAMES:
            log(f"unknown model '{name}' (expected {', '.join(NAMES)}): skipped")
            continue
        try:
            torch.manual_seed(args.seed)
            model = build(torch, torchvision, name).to(device)
            steps, secs = train(torch, model, train_data, args, device, name)
            model = model.cpu().eval()
            quality = evaluate(torch, np, model, test_data, args.seed)
            log(f"{name}: held-out pixel accuracy {quality['pixelAccuracy']:.4f}, mIoU {quality['mIoU']:.4f}, "
                f"median logit margin {quality['marginMedian']:.2f}; on noise: {quality['noise']}")
            path = os.path.join(args.out, f"{name}.onnx")
            entry = export(torch, np, model, path)
            entry["trained"] = {"data": "scripts/train_shapes_detector.py shapes, 96x96, masks 0-4", "seed": args.seed,
                                "train": len(train_set), "test": len(test_set), "steps": steps, "seconds": round(secs, 1),
                                "torch": torch.__version__, **quality}
            fixtures.setdefault("models", {})[name] = entry
            log(f"wrote {path} ({entry['bytes'] / 1e6:.2f} MB)")
        except Exception as e:  # noqa: BLE001 - one model's failure must not stop the other
            import traceback
            traceback.print_exc()
            log(f"{name} FAILED: {type(e).__name__}: {e}")
    with open(report_path, "w") as f:
        json.dump(fixtures, f, indent=1)
    log(f"updated {report_path} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
