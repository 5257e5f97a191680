// An independent bounds checker for builtin programs, written from the kernels' indexing (kernels.h and each
// kernel's loops), not from native/builtin/validate.cc: every access is an affine map over a box of loop indices,
// so its extreme elements sit at the box's corners. Each corner is evaluated with exact BigInt arithmetic.
import { OP_NAMES, paramsAt, programAtDim, type Program } from '../../lib/builtin/program.js';

const SIZE = [4, 2, 4, 8, 1, 1, 1];

interface Box {
  tensor: number;
  /** Bytes per element as the kernel reads it. */
  es: number;
  offset: bigint;
  dims: bigint[];
  strides: bigint[];
  what: string;
}

const big = (v: unknown) => BigInt(Math.trunc(Number(v)));
const INT32_MAX = 2n ** 31n - 1n;

/** Whether two tensors share bytes: same region, offset ranges intersecting (batched ones sit at offset · capacity). */
function shareBytes(p: Program, a: number, b: number): boolean {
  const [x, y] = [p.tensors[a], p.tensors[b]];
  if (!x || !y || x.loc !== y.loc || x.batched !== y.batched || x.bytes <= 0 || y.bytes <= 0) return false;
  return x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes;
}

const contiguous = (tensor: number, es: number, count: bigint, what: string): Box => ({ tensor, es, offset: 0n, dims: [count], strides: [1n], what });

/** The accesses of layer `i` at `batch`, in the kernel's element units. */
function boxes(p: Program, i: number, batch: number): Box[] {
  const l = p.layers[i];
  const q = paramsAt(l, batch) as Record<string, number & number[]>;
  const sc = BigInt(l.batched ? batch : 1);
  const es = (id: number) => SIZE[p.tensors[id].dtype];
  const [x, w, bias, res] = l.inputs;
  const y = l.outputs[0];
  const out: Box[] = [];
  switch (OP_NAMES[l.op]) {
    case 'conv': {
      const n = big(q.n) * sc;
      const [h, ww, c, k, r, s, P, Q, g] = [q.h, q.w, q.c, q.k, q.r, q.s, q.p, q.q, q.g].map(big);
      const t = es(x);
      // x[((n·h + hi)·w + wi)·c + ci]: the kernels read only hi < h, wi < w.
      out.push({ tensor: x, es: t, offset: 0n, dims: [n, h, ww, c], strides: [h * ww * c, ww * c, c, 1n], what: 'conv x' });
      out.push(contiguous(w, t, k * r * s * (c / g), 'conv w'));
      if (bias >= 0) out.push(contiguous(bias, 4, k, 'conv bias'));
      if (res >= 0) out.push(contiguous(res, t, n * P * Q * k, 'conv residual'));
      out.push(contiguous(y, t, n * P * Q * k, 'conv y'));
      break;
    }
    case 'pool': {
      const n = big(q.n) * sc;
      const t = es(x);
      if (n * big(q.p) * big(q.q) * big(q.c) === 0n) break;
      out.push(contiguous(x, t, n * big(q.h) * big(q.w) * big(q.c), 'pool x'));
      out.push(contiguous(y, t, n * big(q.p) * big(q.q) * big(q.c), 'pool y'));
      break;
    }
    case 'reduce':
    case 'softmax': {
      const o = big(q.outer) * sc;
      out.push(contiguous(x, es(x), o * big(q.len) * big(q.inner), 'reduce x'));
      out.push(contiguous(y, es(y), o * (OP_NAMES[l.op] === 'reduce' ? 1n : big(q.len)) * big(q.inner), 'reduce y'));
      break;
    }
    case 'binary': {
      const dims = q.dims.map(big);
      dims[0] *= sc;
      const t = es(y);
      out.push({ tensor: x, es: t, offset: 0n, dims, strides: q.sa.map(big), what: 'binary a' });
      out.push({ tensor: w, es: t, offset: 0n, dims, strides: q.sb.map(big), what: 'binary b' });
      out.push(contiguous(y, t, dims.reduce((a, b) => a * b, 1n), 'binary y'));
      break;
    }
    case 'unary':
      out.push(contiguous(x, es(y), big(q.n) * sc, 'unary x'), contiguous(y, es(y), big(q.n) * sc, 'unary y'));
      break;
    case 'fill':
      out.push(contiguous(y, es(y), big(q.n) * sc, 'fill y'));
      break;
    case 'copy': {
      const dims = q.dims.map(big);
      dims[0] *= sc;
      out.push({ tensor: x, es: es(x), offset: big(q.xoff), dims, strides: q.xs.map(big), what: 'copy x' });
      out.push({ tensor: y, es: es(y), offset: big(q.yoff), dims, strides: q.ys.map(big), what: 'copy y' });
      break;
    }
    case 'pad': {
      const inn = q.in.map(big);
      const o = q.out.map(big);
      inn[0] *= sc;
      o[0] *= sc;
      const nOut = o.reduce((a, b) => a * b, 1n);
      if (nOut === 0n) break;
      out.push(contiguous(x, es(y), inn.reduce((a, b) => a * b, 1n), 'pad x'), contiguous(y, es(y), nOut, 'pad y'));
      break;
    }
    case 'matmul': {
      if (q.bd) {
        const t = es(y);
        const bd = q.bd.map(big);
        const [m, n, k] = [q.m, q.n, q.k].map(big);
        out.push({ tensor: y, es: t, offset: 0n, dims: [...bd, m, n], strides: [...q.bsc.map(big), big(q.cm), 1n], what: 'matmul c' });
        if (k === 0n) break;
        out.push({ tensor: x, es: t, offset: 0n, dims: [...bd, m, k], strides: [...q.bsa.map(big), big(q.am), big(q.ak)], what: 'matmul a' });
        out.push({ tensor: w, es: t, offset: 0n, dims: [...bd, k, n], strides: [...q.bsb.map(big), big(q.bk), big(q.bn)], what: 'matmul b' });
        break;
      }
      const bc = big(q.bc) * sc;
      const [m, n, k] = [q.m, q.n, q.k].map(big);
      const t = es(y);
      if (bc === 0n || m === 0n || n === 0n) break;
      out.push({ tensor: y, es: t, offset: 0n, dims: [bc, m, n], strides: [big(q.sc), n, 1n], what: 'matmul c' });
      if (k === 0n) break;
      out.push({ tensor: x, es: t, offset: 0n, dims: [bc, m, k], strides: [big(q.sa), k, 1n], what: 'matmul a' });
      out.push({ tensor: w, es: t, offset: 0n, dims: [bc, k, n], strides: [big(q.sb), n, 1n], what: 'matmul b' });
      break;
    }
    case 'layernorm': {
      const n = big(q.rows) * sc * big(q.cols);
      out.push(contiguous(x, es(y), n, 'layernorm x'), contiguous(y, es(y), n, 'layernorm y'));
      if (w >= 0) out.push(contiguous(w, 4, big(q.cols), 'layernorm gamma'));
      if (bias >= 0) out.push(contiguous(bias, 4, big(q.cols), 'layernorm beta'));
      if (res >= 0) out.push(contiguous(res, es(y), n, 'layernorm residual'));
      if (l.outputs[1] !== undefined) out.push(contiguous(l.outputs[1], es(y), n, 'layernorm sum'));
      break;
    }
    case 'gather': {
      const o = big(q.outer) * sc;
      out.push(contiguous(x, es(y), o * big(q.len) * big(q.inner), 'gather table'));
      out.push(contiguous(w, es(w), big(q.n), 'gather ids'));
      out.push(contiguous(y, es(y), o * big(q.n) * big(q.inner), 'gather y'));
      break;
    }
    case 'compare':
    case 'where': {
      const dims = q.dims.map(big);
      dims[0] *= sc;
      const where = OP_NAMES[l.op] === 'where';
      const ins = where ? [[x, q.sc], [w, q.sa], [bias, q.sb]] : [[x, q.sa], [w, q.sb]];
      for (const [id, st] of ins as [number, number[]][]) out.push({ tensor: id, es: es(id), offset: 0n, dims, strides: st.map(big), what: `${OP_NAMES[l.op]} operand` });
      out.push(contiguous(y, es(y), dims.reduce((a, b) => a * b, 1n), `${OP_NAMES[l.op]} y`));
      break;
    }
    case 'predicate':
      out.push(contiguous(x, es(x), big(q.n) * sc, 'predicate x'), contiguous(y, 1, big(q.n) * sc, 'predicate y'));
      break;
    case 'attention': {
      const [b, h, sq, sk, d, dv] = [big(q.b) * sc, big(q.h), big(q.sq), big(q.sk), big(q.d), big(q.dv)];
      const t = es(x);
      out.push({ tensor: x, es: t, offset: big(q.qo ?? 0), dims: [b, h, sq, d], strides: q.qs.map(big), what: 'attention q' });
      out.push({ tensor: w, es: t, offset: big(q.ko ?? 0), dims: [b, h, sk, d], strides: q.ks.map(big), what: 'attention k' });
      out.push({ tensor: bias, es: t, offset: big(q.vo ?? 0), dims: [b, h, sk, dv], strides: q.vs.map(big), what: 'attention v' });
      if (res >= 0) out.push({ tensor: res, es: es(res), offset: 0n, dims: [b, h, sq, sk], strides: q.ms.map(big), what: 'attention mask' });
      out.push({ tensor: y, es: t, offset: 0n, dims: [b, h, sq, dv], strides: q.os.map(big), what: 'attention o' });
      break;
    }
    case 'mbconv': {
      // kernels/mbconv.cuh (fused): x, the three weights (read in x's dtype), float32 biases, residual and y, each
      // guarded by its own extent; the chain tactic runs three convolutions through the intermediates.
      const n = big(q.n) * sc;
      const [h, ww, c, e, k, ks, P, Q] = [q.h, q.w, q.c, q.e, q.k, q.ks, q.p, q.q].map(big);
      const t = es(x);
      const [, w1, b1, wd, bd, w2, b2, r] = l.inputs;
      const [expanded, depthwise] = [l.outputs[1], l.outputs[2]];
      out.push({ tensor: x, es: t, offset: 0n, dims: [n, h, ww, c], strides: [h * ww * c, ww * c, c, 1n], what: 'mbconv x' });
      out.push(contiguous(w1, t, e * c, 'mbconv expand w'), contiguous(wd, t, ks * ks * e, 'mbconv depthwise w'), contiguous(w2, t, k * e, 'mbconv project w'));
      if (b1 >= 0) out.push(contiguous(b1, 4, e, 'mbconv expand bias'));
      if (bd >= 0) out.push(contiguous(bd, 4, e, 'mbconv depthwise bias'));
      if (b2 >= 0) out.push(contiguous(b2, 4, k, 'mbconv project bias'));
      if (r >= 0) out.push(contiguous(r, t, n * P * Q * k, 'mbconv residual'));
      out.push(contiguous(y, t, n * P * Q * k, 'mbconv y'));
      if ((l.tactics ?? []).some((c) => c.tactic.startsWith('chain:'))) {
        // Expand writes [n, h, w, e], the depthwise stage reads it and writes [n, p, q, e], project reads that. An
        // identity expand (id1) is skipped: the depthwise stage reads x.
        if (q.id1 !== 1) out.push(contiguous(expanded, t, n * h * ww * e, 'mbconv expanded'));
        out.push(contiguous(depthwise, t, n * P * Q * e, 'mbconv depthwise out'));
      }
      break;
    }
    case 'resize': {
      // kernels/resize.cu: taps clamped into the image, so a whole image per batch row; the four tap arrays.
      const n = big(q.n) * sc;
      const [h, ww, c, P, Q, taps] = [q.h, q.w, q.c, q.p, q.q, q.taps].map(big);
      if (n * P * Q * c === 0n) break;
      // ResizeArgs are int: n, and the table offsets 2·p·taps and q·taps, which would wrap to negative reads.
      if (n > INT32_MAX || 2n * taps * (P + Q) > INT32_MAX) out.push({ ...contiguous(w, 4, 1n, 'resize: int32 overflow of n or the taps offsets'), offset: -1n });
      out.push(contiguous(x, es(x), n * h * ww * c, 'resize x'));
      out.push(contiguous(w, 4, 2n * taps * (P + Q), 'resize taps'));
      out.push(contiguous(y, es(x), n * P * Q * c, 'resize y'));
      break;
    }
    case 'deconv': {
      // kernels/deconv.cu: x[((n·h + iy)·w + ix)·c + g·c/g + ci] with iy < h, ix < w; w[((m·r + ky)·s + kx)·c/g + ci].
      const n = big(q.n) * sc;
      const [h, ww, c, k, r, s, P, Q, g] = [q.h, q.w, q.c, q.k, q.r, q.s, q.p, q.q, q.g].map(big);
      const t = es(x);
      if (n * P * Q * k === 0n) break;
      out.push({ tensor: x, es: t, offset: 0n, dims: [n, h, ww, c], strides: [h * ww * c, ww * c, c, 1n], what: 'deconv x' });
      out.push(contiguous(w, t, k * r * s * (c / g), 'deconv w'));
      if (bias >= 0) out.push(contiguous(bias, 4, k, 'deconv bias'));
      out.push(contiguous(y, t, n * P * Q * k, 'deconv y'));
      break;
    }
    case 'argmax': {
      // kernels/select.cu argKernel: x[o·len·inner + j·inner + i], y[o·inner + i] as int64.
      const o = big(q.outer) * sc;
      const [len, inner] = [big(q.len), big(q.inner)];
      if (o * inner === 0n) break;
      out.push({ tensor: x, es: es(x), offset: 0n, dims: [o, len, inner], strides: [len * inner, inner, 1n], what: 'argmax x' });
      out.push(contiguous(y, 8, o * inner, 'argmax y'));
      break;
    }
    case 'topk': {
      // kernels/select.cu topkKernel: the same reads; values (x's dtype) and int64 indices at (o·k + j)·inner + i.
      const o = big(q.outer) * sc;
      const [len, inner, k] = [big(q.len), big(q.inner), big(q.k)];
      if (o * inner * k === 0n) break;
      out.push({ tensor: x, es: es(x), offset: 0n, dims: [o, len, inner], strides: [len * inner, inner, 1n], what: 'topk x' });
      out.push(contiguous(y, es(x), o * k * inner, 'topk values'));
      out.push(contiguous(l.outputs[1], 8, o * k * inner, 'topk indices'));
      break;
    }
    case 'nms': {
      // kernels/nms.cu: per image, boxes [n, 4], scores [n, c] and anchors [n, 4] (float32); outputs count (int32),
      // boxes [k, 4], scores [k], classes [k] (int32); scratch int64 [1 + pairs] per image (a counter, then keys).
      const b = big(q.b) * sc;
      const [n, c, k] = [big(q.n), big(q.c), big(q.k)];
      if (b === 0n) break;
      const [count, boxesOut, scoresOut, classes, scratch] = l.outputs;
      out.push(contiguous(x, 4, b * n * 4n, 'nms boxes'), contiguous(w, 4, b * n * c, 'nms scores'));
      if (bias >= 0) out.push(contiguous(bias, 4, n * 4n, 'nms anchors'));
      out.push(contiguous(count, 4, b, 'nms count'), contiguous(boxesOut, 4, b * k * 4n, 'nms boxes out'));
      out.push(contiguous(scoresOut, 4, b * k, 'nms scores out'), contiguous(classes, 4, b * k, 'nms classes out'));
      out.push(contiguous(scratch, 8, b * (1n + (q.agnostic ? n : n * c)), 'nms scratch'));
      // The keys read back from the scratch index the boxes and scores: no output written meanwhile may share its bytes.
      for (const o of [count, boxesOut, scoresOut, classes]) {
        if (shareBytes(p, scratch, o)) out.push({ ...contiguous(scratch, 8, 1n, `nms scratch shares bytes with output ${o}`), offset: -1n });
      }
      break;
    }
    default:
      throw new Error(`plan-bounds: op ${l.op} has no access model`);
  }
  return out;
}

/** Bytes tensor `id` holds at `batch`, and whether it lies inside its region. */
function held(p: Program, id: number, batch: number): bigint {
  const t = p.tensors[id];
  return BigInt(t.bytes) * BigInt(t.loc === 0 && t.batched ? batch : 1);
}

/**
 * Every out-of-bounds access of `program` at batches 1..maxBatch (checked at 1 and max: accesses and sizes are
 * linear in the batch), plus tensors outside their regions. Empty when the program stays inside its buffers.
 * @example expect(outOfBounds(program, weights.byteLength)).toEqual([])
 */
export function outOfBounds(p: Program, weightsBytes: number): string[] {
  // A program with a dim is checked where the validator vouches for it (its ends and opt); the runtime validates
  // every other value before running it.
  if (p.dim) {
    const d = p.dim;
    return [...new Set([d.min, d.opt, d.max])].flatMap((s) => outOfBounds(programAtDim(p, s), weightsBytes).map((b) => `${d.name} = ${s}: ${b}`));
  }
  const bad: string[] = [];
  p.tensors.forEach((t, id) => {
    const region = t.loc === 1 ? weightsBytes : t.batched ? p.batchedArenaBytes : p.fixedArenaBytes;
    if (t.offset < 0 || t.bytes < 0 || t.offset + t.bytes > region) bad.push(`tensor ${id} outside its region`);
  });
  for (const batch of new Set([1, p.maxBatch])) {
    p.layers.forEach((_, i) => {
      for (const b of boxes(p, i, batch)) {
        if (b.dims.some((d) => d === 0n)) continue;
        if (b.tensor === undefined || b.tensor < 0 || b.tensor >= p.tensors.length) {
          bad.push(`layer ${i} ${b.what}: no tensor`);
          continue;
        }
        const limit = held(p, b.tensor, batch);
        let lo: bigint | undefined;
        let hi: bigint | undefined;
        for (let corner = 0; corner < 1 << b.dims.length; corner++) {
          let at = b.offset;
          b.dims.forEach((d, k) => {
            if (corner & (1 << k)) at += (d - 1n) * b.strides[k];
          });
          lo = lo === undefined || at < lo ? at : lo;
          hi = hi === undefined || at > hi ? at : hi;
        }
        const size = BigInt(b.es);
        if (lo! < 0n || (hi! + 1n) * size > limit) bad.push(`layer ${i} ${b.what} at batch ${batch}: elements ${lo}..${hi} of ${limit / size}`);
      }
    });
  }
  return bad;
}
