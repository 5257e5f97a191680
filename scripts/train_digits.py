#!/usr/bin/env python3
"""Trains a small CNN on scikit-learn's digits (8x8 grayscale, 10 classes) and writes the accuracy fixture.

Deterministic: fixed seeds, a stratified held-out test split, single-threaded CPU training with deterministic
algorithms. Writes into test/fixtures/digits/ (or --out):
  digits.onnx       the model, opset 17, FP32, dynamic batch: input 'input' [batch, 1, 8, 8] -> 'logits' [batch, 10]
  test-images.f32   the test split, preprocessed (pixel / 16), little-endian float32, count x 1 x 8 x 8
  test.json         format, count, shape, classes, labels, seeds, split and the accuracies measured here
Used by `node-tensorrt bench --accuracy`. Needs torch, scikit-learn and onnx; onnxruntime, when present,
cross-checks the exported file.
"""
import argparse
import hashlib
import inspect
import json
import os
import sys

FORMAT = "node-tensorrt-digits/1"


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "digits"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--test-size", type=float, default=0.2)
    return p.parse_args()


def build_model(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )


def main():
    args = parse_args()
    import numpy as np
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    digits = load_digits()
    x = (digits.data.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=args.test_size, random_state=args.seed, stratify=y)

    model = build_model(torch)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    gen = torch.Generator().manual_seed(args.seed)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        sched.step()
        if epoch % 10 == 9 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1}: loss {total / len(xt):.4f}", file=sys.stderr)

    model.eval()
    with torch.no_grad():
        train_acc = float((model(xt).argmax(1) == yt).float().mean())
        test_logits = model(torch.from_numpy(x_test))
        test_pred = test_logits.argmax(1).numpy()
    test_acc = float((test_pred == y_test).mean())
    print(f"train accuracy {train_acc:.4f} ({len(x_train)} samples)")
    print(f"test accuracy  {test_acc:.4f} ({len(x_test)} samples)")

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "digits.onnx")
    export_kwargs = dict(opset_version=17, input_names=["input"], output_names=["logits"],
                         dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        export_kwargs["dynamo"] = False  # the TorchScript exporter: a plain, stable opset-17 graph
    torch.onnx.export(model, torch.from_numpy(x_test[:1]), onnx_path, **export_kwargs)

    import onnx

    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto)
    ops = sorted({n.op_type for n in proto.graph.node})
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes, ops {', '.join(ops)}, sha256 {sha[:16]}…)")

    ort_acc = None
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        ort_logits = sess.run(None, {"input": x_test})[0]
        ort_pred = ort_logits.argmax(1)
        ort_acc = float((ort_pred == y_test).mean())
        agree = float((ort_pred == test_pred).mean())
        print(f"onnxruntime test accuracy {ort_acc:.4f}; agrees with PyTorch on {agree * 100:.2f}% of samples; "
              f"max |logit diff| {float(np.abs(ort_logits - test_logits.numpy()).max()):.2e}")
    except ImportError as e:
        print(f"onnxruntime not available, cross-check skipped ({e})", file=sys.stderr)

    images = "test-images.f32"
    x_test.astype("<f4").tofile(os.path.join(args.out, images))
    meta = {
        "format": FORMAT,
        "count": int(len(x_test)),
        "shape": [1, 8, 8],
        "dtype": "float32",
        "classes": 10,
        "images": images,
        "preprocessing": "pixel / 16 (values in [0, 1])",
        "source": "sklearn.datasets.load_digits",
        "split": {"testSize": args.test_size, "stratified": True, "randomState": args.seed, "train": int(len(x_train))},
        "seed": args.seed,
        "epochs": args.epochs,
        "torch": {"version": torch.__version__, "trainAccuracy": train_acc, "testAccuracy": test_acc},
        "onnxruntime": {"testAccuracy": ort_acc},
        "onnxSha256": sha,
        "labels": [int(v) for v in y_test],
    }
    with open(os.path.join(args.out, "test.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.join(args.out, 'test.json')} and {images}")


if __name__ == "__main__":
    main()
