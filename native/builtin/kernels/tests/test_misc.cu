// GPU test of the builtin backend's non-convolution kernels against CPU references, F32 (tol 1e-5) and F16 (1e-2),
// plus empty shapes, CUDA-graph capture and a bandwidth table. Prints FAIL lines, one summary per kernel and the
// totals (NTRT_TEST_VERBOSE=1 prints every case); exits 1 on any failure.
#include "misc_elementwise.h"
#include "misc_nn.h"

namespace misc {

// Every launcher with zero-sized work returns without launching, even with null pointers.
inline void testEmpty() {
  Group g("empty");
  bool ok = true;
  try {
    NdShape z = shapeOf({3, 0, 5});
    NdStrides s = contiguous(z);
    k::unary(Act::Relu, 0, 0, 0, DType::F16, nullptr, nullptr, nullptr);
    k::fill(0, DType::F32, nullptr, 1.f, nullptr);
    k::binary(k::Binary::Add, z, s, nullptr, s, nullptr, DType::F32, nullptr, Act::None, 0, 0, nullptr);
    k::copy(z, DType::F32, nullptr, 0, s, DType::F16, nullptr, 0, s, nullptr);
    int64_t before[3] = {0, 0, 0};
    k::pad(0, z, z, before, 0.f, DType::F16, nullptr, nullptr, nullptr);
    k::PoolParams p{0, 4, 4, 8, 2, 2, 2, 2, 2, 2, 0, 0, true, false};
    k::pool(p, DType::F32, nullptr, nullptr, nullptr);
    k::reduce(k::Reduce::Mean, 0, 10, 4, DType::F16, nullptr, DType::F32, nullptr, nullptr);
    k::softmax(0, 1000, 1, false, DType::F32, nullptr, DType::F32, nullptr, nullptr);
    k::batchedMatmul(0, 4, 4, 4, DType::F16, nullptr, 16, nullptr, 16, nullptr, 16, nullptr);
    const float mean[3] = {0, 0, 0}, stdv[3] = {1, 1, 1};
    k::rgbaToTensor(0, 4, 4, nullptr, mean, stdv, true, DType::F32, nullptr, nullptr);
    H_CUDA(cudaDeviceSynchronize());
  } catch (const std::exception& e) {
    std::printf("  %s\n", e.what());
    ok = false;
  }
  check("every kernel with n = 0", ok ? 0 : INFINITY, 0);
}

// A chain of kernels captured into a CUDA graph (global capture mode rejects any unsafe call) matches the eager run.
inline void testGraphCapture() {
  Group g("graph");
  const int n = 2, c = 3, h = 32, w = 32, k2 = 10;
  auto x = randomVec(size_t(n) * c * h * w, 70);
  DevBuf dx, nhwc, pooled, gap, logits, prob, eager;
  upload(dx, x, DType::F32);
  poison(nhwc, size_t(n) * h * w * c, DType::F16);
  poison(pooled, size_t(n) * 16 * 16 * c, DType::F16);
  poison(gap, size_t(n) * c, DType::F32);
  poison(logits, size_t(n) * k2, DType::F32);
  poison(prob, size_t(n) * k2, DType::F32);
  auto bias = randomVec(k2, 71);
  DevBuf dbias;
  upload(dbias, bias, DType::F32);
  cudaStream_t s;
  H_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  auto run = [&] {
    NdShape sh = shapeOf({n, h, w, c});
    NdStrides xs{};
    xs.s[0] = int64_t(c) * h * w, xs.s[1] = w, xs.s[2] = 1, xs.s[3] = int64_t(h) * w;
    k::copy(sh, DType::F32, dx.ptr, 0, xs, DType::F16, nhwc.ptr, 0, contiguous(sh), s);
    k::PoolParams p{n, h, w, c, 3, 3, 16, 16, 2, 2, 1, 1, true, false};
    k::pool(p, DType::F16, nhwc.ptr, pooled.ptr, s);
    k::reduce(k::Reduce::Mean, n, 16 * 16, c, DType::F16, pooled.ptr, DType::F32, gap.ptr, s);
    // logits[n][j] = relu(gap[n][0] + bias[j]): both operands broadcast through zero strides.
    NdShape ls = shapeOf({n, k2});
    NdStrides ga{}, bb{};
    ga.s[0] = c, ga.s[1] = 0;
    bb.s[0] = 0, bb.s[1] = 1;
    k::binary(k::Binary::Add, ls, ga, gap.ptr, bb, dbias.ptr, DType::F32, logits.ptr, Act::Relu, 0, 0, s);
    k::softmax(n, k2, 1, false, DType::F32, logits.ptr, DType::F32, prob.ptr, s);
  };
  run();
  H_CUDA(cudaStreamSynchronize(s));
  auto ref = download(prob.ptr, size_t(n) * k2, DType::F32);
  H_CUDA(cudaMemset(prob.ptr, 0xff, size_t(n) * k2 * 4));
  bool ok = true;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  auto step = [&](cudaError_t e, const char* what) {
    if (ok && e != cudaSuccess) {
      std::printf("  %s: %s\n", what, cudaGetErrorString(e));
      ok = false;
    }
  };
  step(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), "begin capture");
  try {
    run();
  } catch (const std::exception& e) {
    std::printf("  enqueue during capture: %s\n", e.what());
    ok = false;
  }
  step(cudaStreamEndCapture(s, &graph), "end capture");
  if (ok) step(cudaGraphInstantiate(&exec, graph, 0), "instantiate");
  if (ok) step(cudaGraphLaunch(exec, s), "launch");
  step(cudaStreamSynchronize(s), "synchronize");
  (void)cudaGetLastError();
  auto got = download(prob.ptr, size_t(n) * k2, DType::F32);
  check("graph capture of copy/pool/reduce/binary/softmax", ok ? harness::relError(got, ref) : INFINITY, 0);
  if (exec) cudaGraphExecDestroy(exec);
  if (graph) cudaGraphDestroy(graph);
  cudaStreamDestroy(s);
}

// Rows of the bandwidth table. Each row names the buffers it touches and how many elements it needs of each, so a row
// that would overrun one fails as a test case instead of corrupting memory. A failing row (a thrown error or a CUDA
// error) counts as a failure and the table goes on; after a sticky CUDA error the remaining rows are skipped, and
// main still prints the totals.
class Table {
 public:
  struct Use {
    const char* what;
    const DevBuf& buf;
    size_t n;
    DType t;
  };

  Table() { std::printf("\n%-52s %10s %10s\n", "kernel (shape)", "time us", "GB/s"); }

  void row(const std::string& name, double bytes, std::initializer_list<Use> uses, const std::function<void()>& f) {
    if (lost_) {
      std::printf("%-52s %10s\n", name.c_str(), "skipped");
      return;
    }
    std::string err;
    for (const Use& u : uses)
      if (err.empty() && !holds(u.buf, u.n, u.t))
        err = std::string(u.what) + " holds " + std::to_string(u.buf.bytes / dsize(u.t)) + " " + dtName(u.t) +
              " elements, the row needs " + std::to_string(u.n);
    float ms = NAN;
    if (err.empty()) {
      try {
        cudaError_t e = harness::tryTimeMs(f, ms);
        if (e != cudaSuccess) err = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
      } catch (const std::exception& e) {
        err = e.what();
      }
    }
    if (err.empty()) {
      std::printf("%-52s %10.1f %10.0f\n", name.c_str(), ms * 1e3, bytes / (ms * 1e-3) / 1e9);
      return;
    }
    check("bandwidth row " + name, INFINITY, 0);
    std::printf("  %s\n", err.c_str());
    (void)cudaGetLastError();  // clears an error that is not sticky
    lost_ = cudaDeviceSynchronize() != cudaSuccess;
  }

 private:
  bool lost_ = false;
};

// Effective bandwidth (bytes read + written once) of the memory-bound kernels on typical CNN shapes.
inline void timingTable() {
  Table table;
  const size_t big = size_t(32) * 112 * 112 * 64;  // ResNet stem output, batch 32
  DevBuf a, b, c;
  upload(a, randomVec(big, 80), DType::F16);
  poison(b, big, DType::F16);
  upload(c, randomVec(64, 81), DType::F16);
  const DType h = DType::F16, f = DType::F32;
  table.row("unary relu f16 [32,112,112,64]", big * 4.0, {{"a", a, big, h}, {"b", b, big, h}},
            [&] { k::unary(Act::Relu, 0, 0, big, h, a.ptr, b.ptr, nullptr); });
  {
    NdShape sh = shapeOf({32 * 112 * 112, 64});
    NdStrides sa = contiguous(sh), sb{};
    sb.s[1] = 1;
    table.row("binary add per-channel f16 [32*112*112,64]", big * 4.0,
              {{"a", a, big, h}, {"c", c, 64, h}, {"b", b, big, h}},
              [&] { k::binary(k::Binary::Add, sh, sa, a.ptr, sb, c.ptr, h, b.ptr, Act::Relu, 0, 0, nullptr); });
  }
  {
    k::PoolParams p{32, 112, 112, 64, 3, 3, 56, 56, 2, 2, 1, 1, true, false};
    table.row("maxpool 3x3 s2 f16 [32,112,112,64]", big * 2.0 * 1.25, {{"a", a, big, h}, {"b", b, big / 4, h}},
              [&] { k::pool(p, h, a.ptr, b.ptr, nullptr); });
  }
  {
    const size_t img = size_t(32) * 3 * 224 * 224;
    DevBuf x32, y16;
    upload(x32, randomVec(img, 82), f);
    poison(y16, img, h);
    NdShape sh = shapeOf({32, 224, 224, 3});
    NdStrides xs{};
    xs.s[0] = 3 * 224 * 224, xs.s[1] = 224, xs.s[2] = 1, xs.s[3] = 224 * 224;
    table.row("copy NCHW f32 -> NHWC f16 [32,3,224,224]", img * 6.0, {{"x32", x32, img, f}, {"y16", y16, img, h}},
              [&] { k::copy(sh, f, x32.ptr, 0, xs, h, y16.ptr, 0, contiguous(sh), nullptr); });
  }
  {
    const size_t act = size_t(32) * 64 * 56 * 56;
    DevBuf nchw;
    poison(nchw, act, f);
    NdShape sh = shapeOf({32, 64, 56 * 56});  // NHWC f16 -> NCHW f32 with 64 channels (tiled)
    NdStrides xs{};
    xs.s[0] = 64 * 56 * 56, xs.s[1] = 1, xs.s[2] = 64;
    table.row("copy NHWC f16 -> NCHW f32 [32,56,56,64]", act * 6.0, {{"a", a, act, h}, {"nchw", nchw, act, f}},
              [&] { k::copy(sh, h, a.ptr, 0, xs, f, nchw.ptr, 0, contiguous(sh), nullptr); });
  }
  for (size_t batch : {32, 1}) {
    size_t n = batch * 49 * 2048;
    table.row("reduce mean (GAP) f16 [" + std::to_string(batch) + ",49,2048]", n * 2.0,
              {{"a", a, n, h}, {"b", b, batch * 2048, h}},
              [&] { k::reduce(k::Reduce::Mean, batch, 49, 2048, h, a.ptr, h, b.ptr, nullptr); });
  }
  table.row("softmax f16->f32 [256,1000]", 256 * 1000 * 6.0, {{"a", a, 256 * 1000, h}, {"b", b, 256 * 1000, f}},
            [&] { k::softmax(256, 1000, 1, false, h, a.ptr, f, b.ptr, nullptr); });
  {
    NdShape sh = shapeOf({32, 28, 28, 96});  // NHWC concat piece of 96 into 160 channels, at channel 32
    NdShape whole = shapeOf({32, 28, 28, 160});
    table.row("copy concat piece f16 [32,28,28,96] into 160", count(sh) * 4.0,
              {{"a", a, size_t(count(sh)), h}, {"b", b, size_t(count(whole)), h}},
              [&] { k::copy(sh, h, a.ptr, 0, contiguous(sh), h, b.ptr, 32, contiguous(whole), nullptr); });
  }
}

}  // namespace misc

int main() {
  harness::printDevice();
  try {
    { misc::Group g("unary"); misc::testUnary(); }
    { misc::Group g("fill"); misc::testFill(); }
    { misc::Group g("binary"); misc::testBinary(); }
    { misc::Group g("copy"); misc::testCopy(); }
    { misc::Group g("pad"); misc::testPad(); }
    { misc::Group g("pool"); misc::testPool(); }
    { misc::Group g("reduce"); misc::testReduce(); }
    { misc::Group g("softmax"); misc::testSoftmax(); }
    { misc::Group g("matmul"); misc::testMatmul(); }
    { misc::Group g("rgba"); misc::testRgba(); }
    misc::testEmpty();
    misc::testGraphCapture();
    misc::timingTable();
  } catch (const std::exception& e) {
    std::printf("FAIL uncaught exception: %s\n", e.what());
    ++harness::failures();
  }
  return harness::finish();
}
