"""Builds a torch.nn.Module (a torch.fx GraphModule) equivalent to an ONNX graph, with the same weights.

Conv/BatchNorm/Gemm become nn.Conv2d/nn.BatchNorm2d/nn.Linear so that PyTorch runs its own kernels (cuDNN,
cuBLAS) exactly as a hand-written model would; element-wise and shape ops become torch functions. Covers the ops
of convolutional classifiers (the generated models and torchvision exports); anything else raises
UnsupportedOp naming the op and the node.
"""
import math

import numpy as np
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper, shape_inference


class UnsupportedOp(Exception):
    """An ONNX op (or attribute value) this converter does not translate."""


class Reshape(nn.Module):
    """ONNX Reshape with a constant target: 0 copies the input's dimension, -1 is inferred."""

    def __init__(self, shape):
        super().__init__()
        self.shape = [int(s) for s in shape]

    def forward(self, x):
        return x.reshape([x.shape[i] if s == 0 else s for i, s in enumerate(self.shape)])


class Slice(nn.Module):
    """ONNX Slice with constant starts, ends, axes and (positive) steps: Python slicing has the same clamping."""

    def __init__(self, axes, starts, ends, steps):
        super().__init__()
        self.spec = list(zip(axes, starts, ends, steps))

    def forward(self, x):
        index = [slice(None)] * x.dim()
        for axis, start, end, step in self.spec:
            index[axis if axis >= 0 else x.dim() + axis] = slice(start, end, step)
        return x[tuple(index)]


class OnnxFlatten(nn.Module):
    """ONNX Flatten(axis): a 2-D result [prod(d[:axis]), prod(d[axis:])]."""

    def __init__(self, axis):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        axis = self.axis if self.axis >= 0 else x.dim() + self.axis
        if axis == 0:
            return x.reshape(1, -1)
        return x.flatten(0, axis - 1).flatten(1) if axis > 1 else x.flatten(1)


def _t(a):
    """A tensor that owns a copy of a (possibly read-only) numpy array."""
    return torch.from_numpy(np.array(a, copy=True))


def _attrs(node):
    out = {}
    for a in node.attribute:
        if a.type == a.INT:
            out[a.name] = a.i
        elif a.type == a.FLOAT:
            out[a.name] = a.f
        elif a.type == a.INTS:
            out[a.name] = list(a.ints)
        elif a.type == a.FLOATS:
            out[a.name] = list(a.floats)
        elif a.type == a.STRING:
            out[a.name] = a.s.decode()
        elif a.type == a.TENSOR:
            out[a.name] = numpy_helper.to_array(a.t)
    return out


def _pads2d(node, attrs):
    """Symmetric 2-D padding (top, left) from ONNX pads [t, l, b, r]; asymmetric pads need an explicit F.pad."""
    if attrs.get('auto_pad', 'NOTSET') not in ('NOTSET', 'VALID'):
        raise UnsupportedOp(f"auto_pad={attrs['auto_pad']} on {node.op_type} (node '{node.name}')")
    pads = attrs.get('pads', [0, 0, 0, 0])
    if len(pads) != 4:
        raise UnsupportedOp(f"{len(pads) // 2}-D {node.op_type} (node '{node.name}'); only 2-D is supported")
    t, l, b, r = pads
    return (t, l), (None if (t, l) == (b, r) else (l, r, t, b))


class Converter:
    def __init__(self, model):
        try:
            model = shape_inference.infer_shapes(model)
        except Exception:  # shape inference only helps; the conversion does not need it
            pass
        self.model = model
        self.graph = fx.Graph()
        self.root = nn.Module()
        self.env = {}
        self.consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.count = 0

    # -- helpers ---------------------------------------------------------------------------------------------
    def _name(self, base):
        self.count += 1
        return f"{''.join(c if c.isalnum() else '_' for c in base)[:40]}_{self.count}"

    def _module(self, base, module, *args):
        name = self._name(base)
        self.root.add_module(name, module)
        return self.graph.call_module(name, tuple(args))

    def _const(self, name):
        if name in self.consts:
            return self.consts[name]
        return None

    def _value(self, name):
        """An fx node for a tensor input; constants become float buffers (so that .half() converts them)."""
        if name in self.env:
            return self.env[name]
        c = self._const(name)
        if c is None:
            raise UnsupportedOp(f"input '{name}' is neither a graph input nor produced before its use")
        buf = self._name('const')
        t = _t(c)
        self.root.register_buffer(buf, t)
        node = self.graph.get_attr(buf)
        self.env[name] = node
        return node

    def _need_const(self, node, i):
        c = self._const(node.input[i]) if i < len(node.input) and node.input[i] else None
        if c is None:
            raise UnsupportedOp(f"{node.op_type} (node '{node.name}') with a computed input {i}; only constants are supported there")
        return c

    # -- ops -------------------------------------------------------------------------------------------------
    def convert(self):
        g = self.model.graph
        for inp in g.input:
            if inp.name not in self.consts:
                self.env[inp.name] = self.graph.placeholder(self._name(inp.name))
        for node in g.node:
            handler = getattr(self, f'op_{node.op_type}', None)
            if handler is None or node.domain not in ('', 'ai.onnx'):
                raise UnsupportedOp(f"ONNX op '{node.op_type}' (node '{node.name}') is not supported by the PyTorch peer")
            result = handler(node, _attrs(node))
            outs = result if isinstance(result, tuple) else (result,)
            for name, value in zip(node.output, outs):
                if isinstance(value, np.ndarray):
                    self.consts[name] = value
                else:
                    self.env[name] = value
        outputs = [self._value(o.name) for o in g.output]
        self.graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
        return fx.GraphModule(self.root, self.graph)

    def op_Conv(self, node, a):
        w = self._need_const(node, 1)
        if w.ndim != 4:
            raise UnsupportedOp(f"{w.ndim - 2}-D Conv (node '{node.name}'); only 2-D is supported")
        b = self._need_const(node, 2) if len(node.input) > 2 and node.input[2] else None
        group = a.get('group', 1)
        padding, explicit = _pads2d(node, a)
        conv = nn.Conv2d(w.shape[1] * group, w.shape[0], tuple(w.shape[2:]), stride=tuple(a.get('strides', [1, 1])),
                         padding=(0, 0) if explicit else padding, dilation=tuple(a.get('dilations', [1, 1])),
                         groups=group, bias=b is not None)
        with torch.no_grad():
            conv.weight.copy_(_t(w))
            if b is not None:
                conv.bias.copy_(_t(b))
        x = self._value(node.input[0])
        if explicit:
            x = self.graph.call_function(F.pad, (x, explicit))
        return self._module('conv', conv, x)

    def op_BatchNormalization(self, node, a):
        scale, bias, mean, var = (self._need_const(node, i) for i in range(1, 5))
        bn = nn.BatchNorm2d(scale.shape[0], eps=a.get('epsilon', 1e-5))
        with torch.no_grad():
            bn.weight.copy_(_t(scale))
            bn.bias.copy_(_t(bias))
            bn.running_mean.copy_(_t(mean))
            bn.running_var.copy_(_t(var))
        return self._module('bn', bn.eval(), self._value(node.input[0]))

    def op_Gemm(self, node, a):
        if a.get('transA', 0):
            raise UnsupportedOp(f"Gemm with transA=1 (node '{node.name}')")
        w = self._need_const(node, 1) * a.get('alpha', 1.0)
        if not a.get('transB', 0):
            w = w.T
        c = self._need_const(node, 2) * a.get('beta', 1.0) if len(node.input) > 2 and node.input[2] else None
        if c is not None and c.size not in (1, w.shape[0]):
            raise UnsupportedOp(f"Gemm with a bias of shape {list(c.shape)} (node '{node.name}')")
        lin = nn.Linear(w.shape[1], w.shape[0], bias=c is not None)
        with torch.no_grad():
            lin.weight.copy_(_t(w))
            if c is not None:
                lin.bias.copy_(_t(np.broadcast_to(c.reshape(-1), (w.shape[0],))))
        return self._module('fc', lin, self._value(node.input[0]))

    def op_MatMul(self, node, a):
        w = self._const(node.input[1])
        if w is not None and w.ndim == 2:
            lin = nn.Linear(w.shape[0], w.shape[1], bias=False)
            with torch.no_grad():
                lin.weight.copy_(_t(w.T))
            return self._module('matmul', lin, self._value(node.input[0]))
        return self.graph.call_function(torch.matmul, (self._value(node.input[0]), self._value(node.input[1])))

    def op_Relu(self, node, a):
        return self._module('relu', nn.ReLU(inplace=False), self._value(node.input[0]))

    def op_Clip(self, node, a):
        lo = a.get('min', -math.inf) if len(node.input) < 2 or not node.input[1] else float(self._need_const(node, 1))
        hi = a.get('max', math.inf) if len(node.input) < 3 or not node.input[2] else float(self._need_const(node, 2))
        x = self._value(node.input[0])
        if lo == 0.0 and hi == 6.0:
            return self._module('relu6', nn.ReLU6(inplace=False), x)
        if math.isfinite(lo) and math.isfinite(hi):
            return self._module('hardtanh', nn.Hardtanh(lo, hi), x)
        return self.graph.call_function(torch.clamp, (x,), {'min': lo if math.isfinite(lo) else None, 'max': hi if math.isfinite(hi) else None})

    def op_LeakyRelu(self, node, a):
        return self._module('leaky', nn.LeakyReLU(a.get('alpha', 0.01)), self._value(node.input[0]))

    def op_Sigmoid(self, node, a):
        return self._module('sigmoid', nn.Sigmoid(), self._value(node.input[0]))

    def op_Tanh(self, node, a):
        return self._module('tanh', nn.Tanh(), self._value(node.input[0]))

    def op_HardSwish(self, node, a):
        return self._module('hardswish', nn.Hardswish(), self._value(node.input[0]))

    def op_HardSigmoid(self, node, a):
        alpha, beta = a.get('alpha', 0.2), a.get('beta', 0.5)
        x = self._value(node.input[0])
        if abs(alpha - 1 / 6) < 1e-6 and beta == 0.5:
            return self._module('hardsigmoid', nn.Hardsigmoid(), x)
        y = self.graph.call_function(torch.add, (self.graph.call_function(torch.mul, (x, alpha)), beta))
        return self.graph.call_function(torch.clamp, (y,), {'min': 0.0, 'max': 1.0})

    def op_Softmax(self, node, a):
        return self.graph.call_function(torch.softmax, (self._value(node.input[0]),), {'dim': a.get('axis', -1)})

    def _binary(self, node, fn):
        return self.graph.call_function(fn, (self._value(node.input[0]), self._value(node.input[1])))

    def op_Add(self, node, a):
        return self._binary(node, torch.add)

    def op_Sub(self, node, a):
        return self._binary(node, torch.sub)

    def op_Mul(self, node, a):
        return self._binary(node, torch.mul)

    def op_Div(self, node, a):
        return self._binary(node, torch.div)

    def _pool(self, node, a, cls, **extra):
        padding, explicit = _pads2d(node, a)
        if explicit:
            raise UnsupportedOp(f"{node.op_type} with asymmetric pads (node '{node.name}')")
        k = tuple(a['kernel_shape'])
        pool = cls(k, stride=tuple(a.get('strides', [1] * len(k))), padding=padding, ceil_mode=bool(a.get('ceil_mode', 0)), **extra)
        return self._module(node.op_type.lower(), pool, self._value(node.input[0]))

    def op_MaxPool(self, node, a):
        if len(node.output) > 1 and node.output[1]:
            raise UnsupportedOp(f"MaxPool with an Indices output (node '{node.name}')")
        return self._pool(node, a, nn.MaxPool2d, dilation=tuple(a.get('dilations', [1, 1])))

    def op_AveragePool(self, node, a):
        return self._pool(node, a, nn.AvgPool2d, count_include_pad=bool(a.get('count_include_pad', 0)))

    def op_GlobalAveragePool(self, node, a):
        return self._module('gap', nn.AdaptiveAvgPool2d(1), self._value(node.input[0]))

    def op_GlobalMaxPool(self, node, a):
        return self._module('gmp', nn.AdaptiveMaxPool2d(1), self._value(node.input[0]))

    def op_ReduceMean(self, node, a):
        axes = a.get('axes') if len(node.input) < 2 else [int(v) for v in self._need_const(node, 1)]
        x = self._value(node.input[0])
        if axes is None:
            return self.graph.call_function(torch.mean, (x,))
        return self.graph.call_function(torch.mean, (x, tuple(axes)), {'keepdim': bool(a.get('keepdims', 1))})

    def op_Flatten(self, node, a):
        return self._module('flatten', OnnxFlatten(a.get('axis', 1)), self._value(node.input[0]))

    def op_Reshape(self, node, a):
        return self._module('reshape', Reshape(self._need_const(node, 1).tolist()), self._value(node.input[0]))

    def op_Transpose(self, node, a):
        return self.graph.call_method('permute', (self._value(node.input[0]), *a['perm']))

    def op_Concat(self, node, a):
        if all(self._const(i) is not None for i in node.input):
            return np.concatenate([self._const(i) for i in node.input], axis=a['axis'])
        return self.graph.call_function(torch.cat, ([self._value(i) for i in node.input],), {'dim': a['axis']})

    def op_Squeeze(self, node, a):
        axes = a.get('axes') if len(node.input) < 2 else [int(v) for v in self._need_const(node, 1)]
        x = self._value(node.input[0])
        for ax in sorted(axes or [], reverse=True):
            x = self.graph.call_method('squeeze', (x, ax))
        return x

    def op_Unsqueeze(self, node, a):
        axes = a.get('axes') if len(node.input) < 2 else [int(v) for v in self._need_const(node, 1)]
        x = self._value(node.input[0])
        for ax in sorted(axes):
            x = self.graph.call_method('unsqueeze', (x, ax))
        return x

    def op_Pad(self, node, a):
        if a.get('mode', 'constant') != 'constant':
            raise UnsupportedOp(f"Pad mode '{a['mode']}' (node '{node.name}')")
        pads = [int(v) for v in (a.get('pads') if len(node.input) < 2 else self._need_const(node, 1))]
        value = float(self._need_const(node, 2)) if len(node.input) > 2 and node.input[2] else a.get('value', 0.0)
        n = len(pads) // 2
        torch_pads = []
        for d in reversed(range(n)):
            torch_pads += [pads[d], pads[d + n]]
        return self.graph.call_function(F.pad, (self._value(node.input[0]), tuple(torch_pads)), {'value': value})

    def op_Slice(self, node, a):
        if 'starts' in a:  # opset < 10: attributes
            starts, ends = a['starts'], a['ends']
            axes = a.get('axes', list(range(len(starts))))
            steps = [1] * len(starts)
        else:
            starts = [int(v) for v in self._need_const(node, 1)]
            ends = [int(v) for v in self._need_const(node, 2)]
            axes = [int(v) for v in self._need_const(node, 3)] if len(node.input) > 3 and node.input[3] else list(range(len(starts)))
            steps = [int(v) for v in self._need_const(node, 4)] if len(node.input) > 4 and node.input[4] else [1] * len(starts)
        if any(st <= 0 for st in steps):
            raise UnsupportedOp(f"Slice with a negative step (node '{node.name}')")
        return self._module('slice', Slice(axes, starts, ends, steps), self._value(node.input[0]))

    def op_Resize(self, node, a):
        """Resize over H and W with constant scales or sizes: nearest as nn.Upsample exports it (asymmetric, floor),
        or linear (half_pixel, pytorch_half_pixel, align_corners)."""
        scales = self._const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        sizes = self._const(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        if scales is not None and scales.size == 0:
            scales = None
        kw = {}
        if sizes is not None and sizes.size == 4:
            kw['size'] = (int(sizes[2]), int(sizes[3]))
        elif scales is not None and scales.size == 4 and float(scales[0]) == 1 and float(scales[1]) == 1:
            kw['scale_factor'] = (float(scales[2]), float(scales[3]))
        else:
            raise UnsupportedOp(f"Resize without constant 4-D scales or sizes over H and W (node '{node.name}')")
        mode = a.get('mode', 'nearest')
        ctm = a.get('coordinate_transformation_mode', 'half_pixel')
        if mode == 'nearest' and ctm == 'asymmetric' and a.get('nearest_mode', 'round_prefer_floor') == 'floor':
            kw['mode'] = 'nearest'
        elif mode == 'linear' and ctm in ('half_pixel', 'pytorch_half_pixel', 'align_corners'):
            kw.update(mode='bilinear', align_corners=ctm == 'align_corners')
        else:
            raise UnsupportedOp(f"Resize mode '{mode}' with coordinate_transformation_mode '{ctm}' (node '{node.name}')")
        return self.graph.call_function(F.interpolate, (self._value(node.input[0]),), kw)

    def op_Identity(self, node, a):
        c = self._const(node.input[0])
        return c if c is not None else self._value(node.input[0])

    def op_Dropout(self, node, a):
        return self.op_Identity(node, a)

    def op_Constant(self, node, a):
        if 'value' not in a:
            raise UnsupportedOp(f"Constant without a tensor 'value' (node '{node.name}')")
        return a['value']


def onnx_to_torch(model):
    """The equivalent torch.nn.Module (FP32, eval mode, on the CPU) of an onnx.ModelProto."""
    return Converter(model).convert().eval()
