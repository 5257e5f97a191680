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
};

struct Epilogue {
  Act act = Act::None;
  float alpha = 0.f, beta = 0.f;
  const float* bias = nullptr;    //!< [K] or null
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
//! Runs tactic `name`; throws ERR_INVALID_ARGUMENT for an unknown or unsuitable tactic.
void conv(const std::string& tactic, const ConvParams& p, DType t, const void* x, const void* w, void* y,
          const Epilogue& ep, void* workspace, size_t workspaceBytes, cudaStream_t stream);

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

//! Image preprocessing on the device: RGBA8 [n][h][w][4] → NCHW or NHWC float tensor, (px/255 − mean) / std per channel.
void rgbaToTensor(int n, int h, int w, const uint8_t* rgba, const float mean[3], const float stdv[3], bool nhwc,
                  DType outT, void* y, cudaStream_t stream);

//! Separable resize of NHWC [n][h][w][c] → [n][p][q][c] over per-axis taps: `taps` entries per output row/column in
//! one float32 table laid out [p·taps H indexes][p·taps H weights][q·taps W indexes][q·taps W weights], so nearest,
//! linear and cubic share one kernel and the coordinate arithmetic is the host's (exactly the reference's).
void resize(int n, int h, int w, int c, int p, int q, int taps, DType t, const void* x, const float* table, void* y,
            cudaStream_t stream);

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
//! index, or the last with `last` (select_last_index).
void argReduce(bool max, bool last, int64_t outer, int64_t len, int64_t inner, DType t, const void* x, int64_t* y,
               cudaStream_t stream);

//! TopK over the middle axis of [outer, len, inner]: values (input dtype) and int64 indices [outer, k, inner],
//! best first (largest or smallest), ties to the lower index, as onnxruntime orders them.
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
