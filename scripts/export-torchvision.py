"""Exports torchvision's mobilenet_v2 (randomly initialised, seeded: no download) to ONNX, opset 17, dynamic batch.
Usage: python3 scripts/export-torchvision.py OUT.onnx"""
import sys

import torch
import torchvision

torch.manual_seed(0)
model = torchvision.models.mobilenet_v2(weights=None).eval()
# Random init leaves BatchNorm at identity statistics; give them realistic ones so FP16 is exercised.
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.1, 0.1)
x = torch.randn(1, 3, 224, 224)
kwargs = dict(input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17)
try:
    torch.onnx.export(model, (x,), sys.argv[1], dynamo=False, **kwargs)
except TypeError:
    torch.onnx.export(model, (x,), sys.argv[1], **kwargs)
print("exported", sys.argv[1], "torch", torch.__version__, "torchvision", torchvision.__version__)
