#!/usr/bin/env python3
"""Named PyTorch models for side-by-side benchmarks: the same seeded network exported to ONNX for node-tensorrt and
rebuilt in PyTorch by the peer (scripts/peers/torch_peer.py reads the ONNX metadata that names it).

  python3 scripts/peers/torch_zoo.py --model vit_b_16 --out models/vit_b_16.onnx
  python3 scripts/peers/torch_zoo.py --model bert_base --seq 128 --out models/bert_base.onnx
  python3 scripts/peers/torch_zoo.py --model deeplabv3_mobilenet_v3_large --out models/deeplabv3_mbv3_512.onnx
  python3 scripts/peers/torch_zoo.py --model fcn_resnet50 --out models/fcn_resnet50_320.onnx

Weights are seeded, with realistic statistics: LayerNorm affine parameters and BatchNorm running statistics are
calibrated (a freshly initialised model's activations underflow FP16 and prove nothing), and heads that torchvision
initialises to zero get random weights. The ONNX file has a dynamic batch; every other dimension is fixed (with
--dynamicSeq, a BERT model's sequence axis is dynamic too).
"""
import argparse
import sys

META_MODEL = "node_tensorrt.torch_model"
META_SEED = "node_tensorrt.seed"
META_VOCAB = "node_tensorrt.vocab"


def _calibrate(model, torch, make_input=None, seed=1):
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.6 + 0.7)
                if m.bias is not None:
                    m.bias.copy_(torch.rand(m.bias.shape, generator=g) * 0.2 - 0.1)
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()
                m.momentum = None
        if make_input is not None and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            model.train()
            for _ in range(4):
                model(*make_input(8))
    return model.eval()


def build(name, seed=0, seq=128):
    """(module, example inputs at batch 2, input names, output names, vocab or None)."""
    import torch
    import torchvision
    from torch import nn

    torch.manual_seed(seed)
    if name.startswith("vit_"):
        model = getattr(torchvision.models, name)(weights=None)
        with torch.no_grad():
            model.class_token.normal_(0, 0.5)
            model.heads.head.weight.normal_(0, 0.05)
        size = model.image_size
        return _calibrate(model, torch), [torch.randn(2, 3, size, size)], ["input"], ["logits"], None
    if name in ("swin_t", "convnext_tiny", "resnet50", "mobilenet_v2", "efficientnet_b0", "mobilenet_v3_large"):
        model = getattr(torchvision.models, name)(weights=None)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.Linear) and m.out_features == 1000:
                    m.weight.normal_(0, 0.05)
        mk = lambda b: [torch.randn(b, 3, 224, 224)]  # noqa: E731
        return _calibrate(model, torch, mk), mk(2), ["input"], ["logits"], None
    if name in ("deeplabv3_mobilenet_v3_large", "fcn_resnet50"):
        # The whole torchvision network (DeepLabV3: dilated MobileNetV3-Large and ASPP, at 512x512; FCN: dilated
        # ResNet-50 and its FCN head, at 320x320, the size the issue exported it at), 21 classes, returning its 'out'
        # map [B, 21, H, W] (torchvision returns a dict).
        seg = getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None, num_classes=21, aux_loss=False)
        size = 512 if name.startswith("deeplab") else 320

        class Segmenter(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = seg

            def forward(self, x):
                return self.net(x)["out"]

        # BatchNorm statistics from 256x256 batches: per-channel statistics, cheaper than the full size.
        model = _calibrate(Segmenter(), torch, lambda b: [torch.randn(b, 3, 256, 256)])
        return model, [torch.randn(2, 3, size, size)], ["input"], ["out"], None
    if name.startswith("bert_"):
        from transformers import BertConfig, BertModel

        cfg = BertConfig() if name == "bert_base" else BertConfig(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024)

        class Encoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = BertModel(cfg, add_pooling_layer=False)

            def forward(self, input_ids, attention_mask):
                return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        model = _calibrate(Encoder(), torch)
        ids = torch.randint(1000, cfg.vocab_size, (2, seq))
        mask = torch.ones(2, seq, dtype=torch.int64)
        return model, [ids, mask], ["input_ids", "attention_mask"], ["last_hidden_state"], cfg.vocab_size
    raise ValueError(f"unknown model '{name}'")


def export(name, out, seed, seq, dynamic_seq=False):
    import onnx
    import torch

    model, inputs, in_names, out_names, vocab = build(name, seed, seq)
    axes = {n: {0: "batch"} for n in in_names + out_names}
    if dynamic_seq and name.startswith("bert_"):
        axes = {n: {0: "batch", 1: "sequence"} for n in in_names + out_names}
    torch.onnx.export(model, tuple(inputs), out, input_names=in_names, output_names=out_names, dynamic_axes=axes,
                      opset_version=17, dynamo=False)
    proto = onnx.load(out, load_external_data=False)
    meta = {META_MODEL: name, META_SEED: str(seed)}
    if vocab:
        meta[META_VOCAB] = str(vocab)
    for k, v in meta.items():
        p = proto.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(proto, out)
    print(f"exported {name} (seed {seed}) to {out}", file=sys.stderr)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--dynamicSeq", action="store_true", help="BERT models: the sequence axis dynamic too ('sequence')")
    a = ap.parse_args()
    export(a.model, a.out, a.seed, a.seq, a.dynamicSeq)
