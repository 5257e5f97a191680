// The builtin backend's kernel library: every operator the front end lowers to, FP16 (FP32 accumulate) and FP32.
// Layout: 4-D activations are NHWC. Weights: conv KRSC ([K][R][S][C/groups]); depthwise RSC ([R][S][C]).
// Bias is always float32. Every launcher checks launch errors with CUDA_CHECK_LAUNCH and throws ntrt::Error.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../../cuda/convert.h"

namespace ntrt::kernels {

using cuda::DType;

//! Fused activations (epilogues), numbered as in lib/builtin/program.ts `Act`.
enum class Act : int32_t {
  None = 0,
  Relu = 1,
  Clip = 2,         //!< min(max(x, alpha), beta): Relu6 is Clip(0, 6)
  LeakyRelu = 3,    //!< x < 0 ? alpha * x : x
  Sigmoid = 4,
  HardSigmoid = 5,  //!< clamp(alpha * x + beta, 0, 1)
  HardSwish = 6,    //!< x * clamp(x / 6 + 0.5, 0, 1)
  Tanh = 7,
  Erf = 8,
  Gelu = 9,       //!< x * Φ(x), the exact (erf) form
  GeluTanh = 10,  //!< 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), Gelu's approximate="tanh"
  Sqrt = 11,
  Exp = 12,
  Log = 13,
  Neg = 14,
  Abs = 15,
  Reciprocal = 16,
  Scale = 17,     //!< alpha * x + beta (folded scalar Mul/Add/Sub/Div)
  Silu = 18,      //!< x * sigmoid(x)
};
//! The largest Act value; the executor refuses a program naming a larger one.
constexpr int kMaxAct = 18;

struct Epilogue {
  Act act = Act::None;
  float alpha = 0.f, beta = 0.f;
  const float* bias = nullptr;    //!< [K] or null
  const void* biasHalf = nullptr; //!< the same bias in float16, where the engine keeps a copy (GEMM libraries use it)
  const void* residual = nullptr; //!< same shape/dtype as the output, added before the activation; or null
};

//! 2-D convolution, NHWC in and out. y = act(conv(x, w) + bias + residual).
struct ConvParams {
  int n, h, w, c;     //!< input
  int k, r, s;        //!< output channels, filter height/width
  int p, q;           //!< output height/width
  int strideH, strideW, padH, padW, dilH, dilW;
  int groups;
};

//! A tactic is a kernel variant; the builder times every candidate and keeps the fastest.
struct Tactic {
  std::string name;  //!< stable id stored in plans and the tactic cache, e.g. "tc_128x64x32_s3"
  size_t workspace;  //!< bytes of scratch it needs for these params
};

//! Candidate own-kernel tactics for a convolution of this shape and dtype (never empty for a supported shape).
std::vector<Tactic> convTactics(const ConvParams& p, DType t);
//! Workspace bytes of own-kernel tactic `tactic` for p on this device, or -1 when it is unknown or cannot run p. Unlike
//! convTactics, it accepts a tactic that runs p without being offered for it (`direct` runs every convolution).
int64_t convTacticWorkspace(const std::string& tactic, const ConvParams& p, DType t);
//! Runs tactic `name`; throws ERR_INVALID_ARGUMENT for an unknown or unsuitable tactic.
void conv(const std::string& tactic, const ConvParams& p, DType t, const void* x, const void* w, void* y,
          const Epilogue& ep, void* workspace, size_t workspaceBytes, cudaStream_t stream);

//! An inverted-residual (MBConv) block, NHWC: e = act1(W1·x + b1) (1×1), d = act2(depthwise_ks(e) + bd),
//! y = act3(W2·d + b2 + residual) (1×1). Weights W1 [E][C], Wd [KS][KS][E], W2 [K][E]; biases float32 or null.
struct MBConvParams {
  int n, h, w, c;  //!< input
  int e, k;        //!< expanded and output channels
  int ks, stride, padH, padW;  //!< square depthwise window, top/left pads
  int p, q;        //!< output height/width
  Act act1, act2, act3;
  float alpha1, beta1, alpha2, beta2, alpha3, beta3;
};

struct MBConvTensors {
  const void* x;
  const void* w1;
  const float* b1;
  const void* wd;
  const float* bd;
  const void* w2;
  const float* b2;
  const void* residual;  //!< like y, or null
  void* y;
};

//! Fused single-kernel tactics for this block ("mbconv_8x8", "mbconv_4x8", "mbconv_4x4"); empty when none applies
//! (FP16 only, sm_75+, k ∈ {3, 5}, stride ∈ {1, 2}, c, e and k multiples of 8, k ≤ 320). None needs workspace.
std::vector<Tactic> mbconvTactics(const MBConvParams& p, DType t);
//! Runs a fused tactic; ERR_INVALID_ARGUMENT for an unknown or unsuitable one.
void mbconv(const std::string& tactic, const MBConvParams& p, DType t, const MBConvTensors& io, cudaStream_t stream);

//! out[0] = Σ(a − b)² over the finite a, out[1] = Σb², out[2] = count of non-finite a, over n elements of dtype t
//! (F16 or F32). `out` is 3 doubles of device memory, zeroed by the call.
void compareTensors(DType t, int64_t n, const void* a, const void* b, double* out, cudaStream_t stream);

//! Max / average pooling, NHWC.
struct PoolParams {
  int n, h, w, c, r, s, p, q, strideH, strideW, padH, padW;
  bool max;
  bool countIncludePad;
};
void pool(const PoolParams& p, DType t, const void* x, void* y, cudaStream_t stream);

//! Reduction over the middle axis of [outer, len, inner] → [outer, inner]. Accumulates in float32.
enum class Reduce : int32_t { Mean = 0, Sum = 1, Max = 2, Min = 3 };
void reduce(Reduce op, int64_t outer, int64_t len, int64_t inner, DType inT, const void* x, DType outT, void* y,
            cudaStream_t stream);

//! Softmax over the middle axis of [outer, len, inner]; computes in float32.
void softmax(int64_t outer, int64_t len, int64_t inner, bool logSoftmax, DType inT, const void* x, DType outT, void* y,
             cudaStream_t stream);

//! Up to 6-D shapes/strides for the generic element-wise kernels (unused leading dims are 1).
constexpr int kMaxRank = 6;
struct NdShape {
  int rank;
  int64_t dims[kMaxRank];
};
struct NdStrides {
  int64_t s[kMaxRank];
};

enum class Binary : int32_t { Add = 0, Sub = 1, Mul = 2, Div = 3, Max = 4, Min = 5, Pow = 6 };
//! y[i] = act(a[i·sa] op b[i·sb]) over `out`; a stride of 0 broadcasts. y is contiguous. All three share dtype t.
void binary(Binary op, const NdShape& out, const NdStrides& sa, const void* a, const NdStrides& sb, const void* b,
            DType t, void* y, Act act, float alpha, float beta, cudaStream_t stream);

//! y = act(x), element-wise over n elements (in place allowed).
void unary(Act act, float alpha, float beta, int64_t n, DType t, const void* x, void* y, cudaStream_t stream);

//! Strided N-D copy with type conversion: y[yOff + Σ i·ys] = (outT) x[xOff + Σ i·xs] over `shape`.
//! Covers transposes, NCHW↔NHWC, casts, slices and concat pieces. Offsets and strides are in elements.
void copy(const NdShape& shape, DType inT, const void* x, int64_t xOff, const NdStrides& xs, DType outT, void* y,
          int64_t yOff, const NdStrides& ys, cudaStream_t stream);

//! y[0..n) = value.
void fill(int64_t n, DType t, void* y, float value, cudaStream_t stream);

//! Pad, N-D, contiguous in and out; mode 0 constant, 1 reflect, 2 edge. `before` is the leading pad per dim.
void pad(int mode, const NdShape& in, const NdShape& out, const int64_t* before, float value, DType t, const void* x,
         void* y, cudaStream_t stream);

//! Batched matrix product of two activations: C[b] = A[b] (M×K) · B[b] (K×N), row-major, batch strides in elements.
void batchedMatmul(int64_t batch, int m, int n, int k, DType t, const void* a, int64_t strideA, const void* b,
                   int64_t strideB, void* c, int64_t strideC, cudaStream_t stream);

//! C[z] = alpha · A[z] · B[z] over up to 3 batch levels (right-aligned, each with its own strides; 0 broadcasts).
//! A(m, k) sits at a + am·m + ak·k, B(k, n) at b + bk·k + bn·n, C(m, n) at c + cm·m + n (elements).
struct MatmulDesc {
  int m, n, k;
  int batchRank;
  int64_t batch[3];
  int64_t sa[3], sb[3], sc[3];
  int64_t am, ak, bk, bn, cm;
  float alpha;
};
//! FP16 on tensor cores (wmma, float32 accumulation); FP32 on CUDA cores.
void matmul(const MatmulDesc& d, DType t, const void* a, const void* b, void* c, cudaStream_t stream);

//! Layer normalization over the last axis of [rows, cols]: h = x + residual (when given), sum = h (when given),
//! y = (h − mean) / sqrt(var + eps) · gamma + beta; gamma/beta float32 [cols] or null (1 and 0). Float32 statistics.
void layerNorm(int64_t rows, int cols, DType t, const void* x, const void* residual, const float* gamma,
               const float* beta, float eps, void* y, void* sum, cudaStream_t stream);

//! Gather along the middle axis of [outer, len, inner] with n int32/int64 ids → [outer, n, inner]. Negative ids
//! count from the end; an id outside [-len, len) yields a zero row and, when `bad` is not null, adds one to *bad.
void gather(int64_t outer, int64_t len, int64_t inner, DType t, const void* x, int64_t n, DType idxT, const void* idx,
            void* y, int32_t* bad, cudaStream_t stream);

//! Comparisons (any dtype) and logical ops (bool operands), bool result, broadcast through strides as `binary`.
enum class Compare : int32_t { Equal = 0, Less = 1, LessOrEqual = 2, Greater = 3, GreaterOrEqual = 4, And = 5, Or = 6, Xor = 7 };
void compare(Compare op, const NdShape& out, const NdStrides& sa, const void* a, const NdStrides& sb, const void* b,
             DType inT, void* y, cudaStream_t stream);

//! Element-wise predicates with a bool result: Not (bool in), IsNaN and IsInf (float in).
enum class Predicate : int32_t { Not = 0, IsNaN = 1, IsInf = 2 };
void predicate(Predicate p, int64_t n, DType inT, const void* x, void* y, cudaStream_t stream);

//! y = cond ? a : b over `out` (y contiguous), each operand through its own strides; cond is bool, a/b/y of type t.
void where(const NdShape& out, const NdStrides& sc, const void* cond, const NdStrides& sa, const void* a,
           const NdStrides& sb, const void* b, DType t, void* y, cudaStream_t stream);

//! Integer y = a op b (Add, Sub, Mul, Div truncating with x/0 = 0, Max, Min) for int32/int64, strides as `binary`.
void binaryInt(Binary op, const NdShape& out, const NdStrides& sa, const void* a, const NdStrides& sb, const void* b,
               DType t, void* y, cudaStream_t stream);

//! y[i] = start + i · step for i < n (exact for int64).
void range(int64_t n, DType t, void* y, double start, double step, cudaStream_t stream);

//! Multi-head attention O = softmax(scale · Q·Kᵀ + mask) · V per (batch, head). Strides in elements, in the order
//! (batch, head, sequence, feature); the mask's are (batch, head, query, key), 0 broadcasting. A query row whose
//! scores are all −inf (fully masked) yields zeros, as the IsNaN guard transformers export around Softmax does.
struct AttentionDesc {
  int batch, heads, sq, sk, d, dv;
  int64_t q[4], k[4], v[4], o[4], mask[4];
  float scale;
};
//! Tactics for these params: "flash_mma", "flash_mma_w2" and "flash_mma_w8" (FP16, FlashAttention-2 on mma.sync: d == dv in
//! {16, 32, 64, 128}, contiguous rows, strides in multiples of 8, 16-byte aligned Q/K/V), "flash_wmma" (FP16 tensor cores, d and dv multiples of 16 up to 128), "flash_warp"
//! (a warp per query row, any head size up to 256), "unfused" (two matmuls and a masked softmax through workspace).
std::vector<Tactic> attentionTactics(const AttentionDesc& p, DType t);
//! Runs tactic `name`; mask may be null (maskT ignored) or float32/float16.
void attention(const std::string& tactic, const AttentionDesc& p, DType t, const void* q, const void* k, const void* v,
               DType maskT, const void* mask, void* o, void* workspace, size_t workspaceBytes, cudaStream_t stream);

//! Image preprocessing on the device: RGBA8 [n][h][w][4] → NCHW or NHWC float tensor, (px/255 − mean) / std per channel.
void rgbaToTensor(int n, int h, int w, const uint8_t* rgba, const float mean[3], const float stdv[3], bool nhwc,
                  DType outT, void* y, cudaStream_t stream);

//! Separable resize of NHWC [n][h][w][c] → [n][p][q][c] over per-axis taps: `taps` entries per output row/column in
//! one float32 table laid out [p·taps H indexes][p·taps H weights][q·taps W indexes][q·taps W weights], so nearest,
//! linear and cubic share one kernel and the coordinate arithmetic is the host's (exactly the reference's).
void resize(int n, int h, int w, int c, int p, int q, int taps, DType t, const void* x, const float* table, void* y,
            cudaStream_t stream);
//! The same resize writing NCHW (row-major) [n][c][p][q] in dtype yt (t or float32): a segmentation head's last
//! upsample straight into the model's output, with no layout or dtype pass after it.
void resizeToNchw(int n, int h, int w, int c, int p, int q, int taps, DType t, const void* x, const float* table,
                  DType yt, void* y, cudaStream_t stream);

//! Transposed 2-D convolution, NHWC in and out, weights [K][R][S][C/groups]; y = deconv(x, w) + bias.
struct DeconvParams {
  int n, h, w, c;  //!< input
  int k, r, s;     //!< output channels, filter height/width
  int p, q;        //!< output height/width
  int strideH, strideW, padH, padW, dilH, dilW;
  int groups;
};
void deconv(const DeconvParams& p, DType t, const void* x, const void* w, const float* bias, void* y,
            cudaStream_t stream);

//! ArgMax (max) or ArgMin over the middle axis of [outer, len, inner] → int64 [outer, inner]; ties take the first
//! index, or the last with `last` (select_last_index). NaN ranks above +Inf (NumPy's sort order): ArgMax picks a
//! NaN, ArgMin only in an all-NaN row; −0 equals +0.
void argReduce(bool max, bool last, int64_t outer, int64_t len, int64_t inner, DType t, const void* x, int64_t* y,
               cudaStream_t stream);

//! TopK over the middle axis of [outer, len, inner]: values (input dtype) and int64 indices [outer, k, inner],
//! best first (largest or smallest), ties to the lower index, as onnxruntime orders them. NaN ranks above +Inf
//! (first when largest, last when smallest), as NumPy and PyTorch sort; −0 equals +0. Every row fills all k picks.
void topk(bool largest, int64_t outer, int64_t len, int64_t inner, int k, DType t, const void* x, void* values,
          int64_t* indices, cudaStream_t stream);

//! EfficientNMS-style stage: boxes [batch][n][4] and scores [batch][n][c] (float32) → count [batch] (int32),
//! boxes [batch][k][4] (corners), scores [batch][k], classes [batch][k] (int32, -1 past the count). Candidates score
//! strictly above the threshold, best first (ties: lower box·c + class first), at most kNmsMaxCandidates per image.
struct NmsParams {
  int batch, n, c, k;
  bool cxcywh;    //!< boxes (and anchors) are [cx, cy, w, h], else [x1, y1, x2, y2]
  bool agnostic;  //!< one candidate per box (best class); every class suppresses every other
  float scoreThreshold, iouThreshold;
};
constexpr int kNmsMaxCandidates = 4096;
constexpr int kNmsMaxOutput = 1024;
//! Raises the stage's shared-memory limit on the current device (once); call before capturing a CUDA graph.
void nmsPrepare();
//! int64 scratch elements the stage needs per image (a counter and one key per candidate pair).
int64_t nmsScratchPerImage(const NmsParams& p);
void efficientNms(const NmsParams& p, const float* boxes, const float* scores, const float* anchors, int32_t* count,
                  float* outBoxes, float* outScores, int32_t* outClasses, int64_t* scratch, cudaStream_t stream);

}  // namespace ntrt::kernels
