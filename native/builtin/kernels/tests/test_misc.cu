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

// Effective bandwidth (bytes read + written once) of the memory-bound kernels on typical CNN shapes.
inline void timingTable() {
  std::printf("\n%-52s %10s %10s\n", "kernel (shape)", "time us", "GB/s");
  auto row = [](const char* name, double bytes, float ms) {
    std::printf("%-52s %10.1f %10.0f\n", name, ms * 1e3, bytes / (ms * 1e-3) / 1e9);
  };
  const size_t big = size_t(32) * 112 * 112 * 64;  // ResNet stem output, batch 32
  DevBuf a, b, c;
  upload(a, randomVec(big, 80), DType::F16);
  poison(b, big, DType::F16);
  upload(c, randomVec(64, 81), DType::F16);
  row("unary relu f16 [32,112,112,64]", big * 4.0,
      harness::timeMs([&] { k::unary(Act::Relu, 0, 0, big, DType::F16, a.ptr, b.ptr, nullptr); }));
  {
    NdShape sh = shapeOf({32 * 112 * 112, 64});
    NdStrides sa = contiguous(sh), sb{};
    sb.s[1] = 1;
    row("binary add per-channel f16 [32*112*112,64]", big * 4.0, harness::timeMs([&] {
          k::binary(k::Binary::Add, sh, sa, a.ptr, sb, c.ptr, DType::F16, b.ptr, Act::Relu, 0, 0, nullptr);
        }));
  }
  {
    k::PoolParams p{32, 112, 112, 64, 3, 3, 56, 56, 2, 2, 1, 1, true, false};
    row("maxpool 3x3 s2 f16 [32,112,112,64]", big * 2.0 * 1.25,
        harness::timeMs([&] { k::pool(p, DType::F16, a.ptr, b.ptr, nullptr); }));
  }
  {
    const size_t img = size_t(32) * 3 * 224 * 224;
    DevBuf x32, y16, back;
    upload(x32, randomVec(img, 82), DType::F32);
    poison(y16, img, DType::F16);
    poison(back, img, DType::F32);
    NdShape sh = shapeOf({32, 224, 224, 3});
    NdStrides xs{};
    xs.s[0] = 3 * 224 * 224, xs.s[1] = 224, xs.s[2] = 1, xs.s[3] = 224 * 224;
    row("copy NCHW f32 -> NHWC f16 [32,3,224,224]", img * 6.0, harness::timeMs([&] {
          k::copy(sh, DType::F32, x32.ptr, 0, xs, DType::F16, y16.ptr, 0, contiguous(sh), nullptr);
        }));
    NdShape sh2 = shapeOf({32, 64, 56 * 56});  // NHWC f16 -> NCHW f32 with 64 channels (tiled)
    NdStrides xs2{};
    xs2.s[0] = 64 * 56 * 56, xs2.s[1] = 1, xs2.s[2] = 64;
    row("copy NHWC f16 -> NCHW f32 [32,56,56,64]", 32 * 64 * 56 * 56 * 6.0, harness::timeMs([&] {
          k::copy(sh2, DType::F16, a.ptr, 0, xs2, DType::F32, back.ptr, 0, contiguous(sh2), nullptr);
        }));
  }
  {
    for (int64_t batch : {32, 1}) {
      std::string name = "reduce mean (GAP) f16 [" + std::to_string(batch) + ",49,2048]";
      row(name.c_str(), batch * 49 * 2048 * 2.0, harness::timeMs([&] {
            k::reduce(k::Reduce::Mean, batch, 49, 2048, DType::F16, a.ptr, DType::F16, b.ptr, nullptr);
          }));
    }
  }
  row("softmax f16->f32 [256,1000]", 256 * 1000 * 6.0,
      harness::timeMs([&] { k::softmax(256, 1000, 1, false, DType::F16, a.ptr, DType::F32, b.ptr, nullptr); }));
  {
    NdShape sh = shapeOf({32, 28, 28, 96});  // NHWC concat piece of 96 into 160 channels
    NdStrides ys = contiguous(shapeOf({32, 28, 28, 160}));
    row("copy concat piece f16 [32,28,28,96] into 160", 32 * 28 * 28 * 96 * 4.0, harness::timeMs([&] {
          k::copy(sh, DType::F16, a.ptr, 0, contiguous(sh), DType::F16, b.ptr, 32, ys, nullptr);
        }));
  }
}

}  // namespace misc

int main() {
  int dev = 0;
  cudaDeviceProp prop{};
  H_CUDA(cudaGetDevice(&dev));
  H_CUDA(cudaGetDeviceProperties(&prop, dev));
  std::printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
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
