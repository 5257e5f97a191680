// Reference Einsum: any equation (ellipsis, repeated labels, implicit output) as one loop nest over
// the output labels and the contracted ones, accumulating in float64.
import { attrString } from '../ir/attrs.js';
import { einsumSizes, parseEinsum } from '../ir/rules-shape.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Kernel } from './ops-nn.js';
import { asFloat64, fromFloat64, size, type RTensor } from './tensor.js';

export const einsum: Kernel = (node, inputs, out) => {
  const ins = inputs as RTensor[];
  const fail = (m: string): never => {
    throw new TensorRTError(ErrorCode.INVALID_MODEL, `Invalid node '${node.name}' (Einsum): ${m}`);
  };
  const spec = parseEinsum(attrString(node, 'equation', ''), ins.map((t) => t.dims.length), fail);
  const sizes = einsumSizes(spec, ins.map((t) => t.dims), fail) as Map<string, number>;
  const contracted = [...sizes.keys()].filter((l) => !spec.output.includes(l));
  const labels = [...spec.output, ...contracted];
  const dims = labels.map((l) => sizes.get(l)!);
  // Per input, the stride of each loop label (summed for a repeated label: a diagonal).
  const strides = ins.map((t, i) => {
    const st = labels.map(() => 0);
    let acc = 1;
    for (let k = t.dims.length - 1; k >= 0; k--) {
      if (t.dims[k] !== 1 || sizes.get(spec.inputs[i][k]) === 1) st[labels.indexOf(spec.inputs[i][k])] += acc;
      acc *= t.dims[k];
    }
    return st;
  });
  const data = ins.map(asFloat64);
  const nOut = size(dims.slice(0, spec.output.length));
  const nRed = size(dims.slice(spec.output.length));
  const y = new Float64Array(nOut);
  const r = labels.length;
  const idx = new Array(r).fill(0);
  const offs = ins.map(() => 0);
  const k = ins.length;
  for (let o = 0; o < nOut; o++) {
    let acc = 0;
    for (let c = 0; c < nRed; c++) {
      let p = 1;
      for (let j = 0; j < k; j++) p *= data[j][offs[j]];
      acc += p;
      for (let d = r - 1; d >= 0; d--) {
        idx[d]++;
        for (let j = 0; j < k; j++) offs[j] += strides[j][d];
        if (idx[d] < dims[d]) break;
        for (let j = 0; j < k; j++) offs[j] -= strides[j][d] * idx[d];
        idx[d] = 0;
      }
    }
    y[o] = acc;
  }
  return [fromFloat64(out[0].dtype, out[0].shape as number[], y)];
};
