"""Exports the model-coverage test fixtures with PyTorch (seeded weights, no download), checked against onnxruntime.

Transformers and modern vision models in small configurations of the real classes (torchvision ViT, Swin,
ConvNeXt; a BERT encoder from transformers with a WordPiece tokenizer.json), segmentation models (LRASPP and
DeepLabV3 on a MobileNetV3 backbone), and a small CNN at opsets 9 and 10 with the older operator forms.
Usage: python3 scripts/export-fixtures.py OUT_DIR [--only name,...]
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision
from torch import nn

OUT = sys.argv[1]
ONLY = set(sys.argv[sys.argv.index("--only") + 1].split(",")) if "--only" in sys.argv else None
os.makedirs(OUT, exist_ok=True)
report = {}


def calibrate(model, make_input, steps=4):
    """Gives BatchNorm realistic running statistics (train mode, cumulative average) and LayerNorm non-trivial affine
    parameters, so activations stay O(1) and FP16 is exercised as a trained model would exercise it."""
    torch.manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.uniform_(0.7, 1.3)
                if m.bias is not None:
                    m.bias.uniform_(-0.1, 0.1)
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()
                m.momentum = None
                m.weight.uniform_(0.7, 1.3)
                m.bias.uniform_(-0.1, 0.1)
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            model.train()
            for _ in range(steps):
                model(*make_input(8))
    model.eval()
    return model


def export(name, model, inputs, input_names, output_names, dynamic_axes, opset=17):
    if ONLY and name not in ONLY:
        return
    path = os.path.join(OUT, f"{name}.onnx")
    with torch.no_grad():
        expect = model(*inputs)
    if isinstance(expect, dict):
        expect = [expect[k] for k in output_names]
    elif hasattr(expect, "last_hidden_state"):
        expect = [expect.last_hidden_state]
    elif not isinstance(expect, (list, tuple)):
        expect = [expect]
    torch.onnx.export(model, tuple(inputs), path, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False, do_constant_folding=True)
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {n: t.numpy() for n, t in zip(input_names, inputs)})
    errs = [float(np.abs(g - e.numpy()).max() / (np.abs(e.numpy()).max() + 1e-12)) for g, e in zip(got, expect)]
    import onnx
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    report[name] = {"bytes": os.path.getsize(path), "opset": opset, "ort_vs_torch_rel": errs, "ops": ops,
                    "std": [float(e.float().std()) for e in expect]}
    print(name, report[name], flush=True)


torch.manual_seed(0)
img = lambda s: (lambda b: [torch.randn(b, 3, s, s)])
dyn_img = {"input": {0: "batch"}, "logits": {0: "batch"}}

# --- transformers and modern vision models (torchvision classes, small configurations) -------------------------
vit = torchvision.models.VisionTransformer(image_size=64, patch_size=16, num_layers=2, num_heads=4, hidden_dim=64,
                                           mlp_dim=128, num_classes=10)
with torch.no_grad():  # torchvision zero-initialises the class token and the head: a trained model has neither
    vit.class_token.normal_(0, 0.5)
    vit.heads.head.weight.normal_(0, 0.2)
export("vit_tiny", calibrate(vit, img(64)), img(64)(2), ["input"], ["logits"], dyn_img)

swin = torchvision.models.SwinTransformer(patch_size=[4, 4], embed_dim=32, depths=[2, 2], num_heads=[2, 4],
                                          window_size=[4, 4], num_classes=10)
with torch.no_grad():
    swin.head.weight.normal_(0, 0.2)
export("swin_tiny", calibrate(swin, img(64)), img(64)(2), ["input"], ["logits"], dyn_img)

from torchvision.models.convnext import CNBlockConfig
convnext = torchvision.models.ConvNeXt([CNBlockConfig(32, 64, 2), CNBlockConfig(64, None, 2)], num_classes=10)
export("convnext_tiny", calibrate(convnext, img(64)), img(64)(2), ["input"], ["logits"], dyn_img)

# --- a BERT-style encoder with dynamic batch and sequence, and its tokenizer ------------------------------------
if not ONLY or "bert_tiny" in ONLY:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers, decoders
    words = ("the a an of to in is was for on with as by at from that this it be are or which one all "
             "gpu engine model node tensor graph kernel fast slow image text vector search cat dog bird tree car "
             "house river mountain city night day light dark red green blue quick brown fox jumps over lazy "
             "inference batch layer attention head token sequence embedding speed memory stream device").split()
    rng = np.random.default_rng(0)
    corpus = [" ".join(rng.choice(words, size=rng.integers(4, 16))) for _ in range(2000)]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                      special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.save(os.path.join(OUT, "bert_tiny.tokenizer.json"))

    from transformers import BertConfig, BertModel
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=128, max_position_embeddings=64, pad_token_id=0)
    class Encoder(nn.Module):
        """The encoder as exported for embeddings: ids and mask in, the last hidden state out."""

        def __init__(self):
            super().__init__()
            self.bert = BertModel(cfg, add_pooling_layer=False)

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    bert = calibrate(Encoder(), None)
    ids = torch.randint(5, cfg.vocab_size, (2, 12))
    mask = torch.ones(2, 12, dtype=torch.int64)
    mask[1, 9:] = 0
    export("bert_tiny", bert, [ids, mask], ["input_ids", "attention_mask"], ["last_hidden_state"],
           {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            "last_hidden_state": {0: "batch", 1: "sequence"}})

# --- segmentation (torchvision classes on a half-width MobileNetV3-Large backbone) -----------------------------
from torchvision.models.segmentation.lraspp import _lraspp_mobilenetv3
from torchvision.models.segmentation.deeplabv3 import ASPP, DeepLabV3
from torchvision.models._utils import IntermediateLayerGetter

seg_dyn = {"input": {0: "batch"}, "out": {0: "batch"}}
backbone = torchvision.models.mobilenet_v3_large(weights=None, dilated=True, width_mult=0.5)
lraspp = _lraspp_mobilenetv3(backbone, 21)
export("lraspp_mbv3", calibrate(lraspp, img(96)), img(96)(1), ["input"], ["out"], seg_dyn)

backbone = torchvision.models.mobilenet_v3_large(weights=None, dilated=True, width_mult=0.5).features
out_pos = [i for i, b in enumerate(backbone) if getattr(b, "_is_cn", False)][-1] if any(
    getattr(b, "_is_cn", False) for b in backbone) else len(backbone) - 1
out_ch = backbone[out_pos].out_channels
head = nn.Sequential(ASPP(out_ch, [12, 24, 36], out_channels=32), nn.Conv2d(32, 32, 3, padding=1, bias=False),
                     nn.BatchNorm2d(32), nn.ReLU(), nn.Conv2d(32, 21, 1))
deeplab = DeepLabV3(IntermediateLayerGetter(backbone, {str(out_pos): "out"}), head)
export("deeplabv3_mbv3", calibrate(deeplab, img(96)), img(96)(1), ["input"], ["out"], seg_dyn)


# --- a small CNN at opsets 9 and 10: Upsample, Slice/Pad/Squeeze/Unsqueeze/Clip/ReduceMean with attributes -----
class OldOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        y = torch.clamp(self.bn(self.c1(x)), 0, 6)
        y = torch.nn.functional.interpolate(self.c2(y), scale_factor=2, mode="nearest")
        y = torch.nn.functional.pad(y[:, :, 1:-1, 1:-1], (1, 1, 1, 1))
        y = y.mean(dim=(2, 3), keepdim=True).squeeze(3).squeeze(2)
        return torch.softmax(self.fc(y).unsqueeze(1), dim=-1)


for opset in (9, 10):
    m = calibrate(OldOps(), img(16))
    export(f"oldops_opset{opset}", m, img(16)(2), ["input"], ["logits"], dyn_img, opset=opset)

with open(os.path.join(OUT, "fixtures-report.json"), "w") as f:
    json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "models": report}, f, indent=1)
print("done", torch.__version__, torchvision.__version__)
