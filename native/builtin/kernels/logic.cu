// Comparisons and logical ops (bool results), predicates (Not, IsNaN, IsInf) and Where, all with broadcast strides;
// integer arithmetic (index computations that depend on the batch) and Range.
// Values compare in their own type (int64 ids exactly; float16 through float32).
#include <type_traits>

#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBlock = 256;

template <typename T>
__device__ __forceinline__ auto value(T v) {
  if constexpr (std::is_same_v<T, __half>) return __half2float(v);
  else return v;
}

template <typename T>
__device__ __forceinline__ bool applyCompare(Compare op, T a, T b) {
  auto x = value(a);
  auto y = value(b);
  switch (op) {
    case Compare::Equal:
      return x == y;
    case Compare::Less:
      return x < y;
    case Compare::LessOrEqual:
      return x <= y;
    case Compare::Greater:
      return x > y;
    case Compare::GreaterOrEqual:
      return x >= y;
    case Compare::And:
      return (x != decltype(x)(0)) && (y != decltype(y)(0));
    case Compare::Or:
      return (x != decltype(x)(0)) || (y != decltype(y)(0));
    default:  // Xor
      return (x != decltype(x)(0)) != (y != decltype(y)(0));
  }
}

//! Offsets of output element i (y contiguous) in each of kSets strided operands.
template <int kSets>
struct Walk {
  int rank;
  int64_t dims[kMaxRank];
  int64_t s[kSets][kMaxRank];
  __device__ __forceinline__ void offsets(int64_t i, int64_t* o) const {
    for (int k = 0; k < kSets; ++k) o[k] = 0;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t q = i / dims[d];
      int64_t c = i - q * dims[d];
      i = q;
      for (int k = 0; k < kSets; ++k) o[k] += c * s[k][d];
    }
  }
};

template <int kSets>
Walk<kSets> walkOf(const NdShape& shape, const NdStrides* const* strides) {
  const int64_t* raw[kSets];
  for (int k = 0; k < kSets; ++k) raw[k] = strides[k]->s;
  Layout<kSets> l = collapse<kSets>(shape, raw);
  Walk<kSets> w{};
  w.rank = l.rank;
  for (int d = 0; d < l.rank; ++d) {
    w.dims[d] = l.dims[d];
    for (int k = 0; k < kSets; ++k) w.s[k][d] = l.strides[k][d];
  }
  return w;
}

template <typename T>
__global__ void compareKernel(Compare op, int64_t n, Walk<2> w, const T* a, const T* b, bool* y) {
  for (int64_t i = globalThread(); i < n; i += globalThreads()) {
    int64_t o[2];
    w.offsets(i, o);
    y[i] = applyCompare(op, a[o[0]], b[o[1]]);
  }
}

template <typename T>
__global__ void whereKernel(int64_t n, Walk<3> w, const bool* c, const T* a, const T* b, T* y) {
  for (int64_t i = globalThread(); i < n; i += globalThreads()) {
    int64_t o[3];
    w.offsets(i, o);
    y[i] = c[o[0]] ? a[o[1]] : b[o[2]];
  }
}

template <typename T>
__global__ void predicateKernel(Predicate p, int64_t n, const T* x, bool* y) {
  for (int64_t i = globalThread(); i < n; i += globalThreads()) {
    auto v = value(x[i]);
    if constexpr (std::is_floating_point_v<decltype(v)>) {
      y[i] = p == Predicate::IsNaN ? isnan(v) : p == Predicate::IsInf ? isinf(v) : v == 0;
    } else {
      y[i] = p == Predicate::Not ? v == decltype(v)(0) : false;
    }
  }
}

template <typename T>
__global__ void binaryIntKernel(Binary op, int64_t n, Walk<2> w, const T* a, const T* b, T* y) {
  for (int64_t i = globalThread(); i < n; i += globalThreads()) {
    int64_t o[2];
    w.offsets(i, o);
    T x = a[o[0]], z = b[o[1]];
    switch (op) {
      case Binary::Add: y[i] = x + z; break;
      case Binary::Sub: y[i] = x - z; break;
      case Binary::Mul: y[i] = x * z; break;
      case Binary::Div: y[i] = z == 0 ? T(0) : x / z; break;  // defined instead of a trap
      case Binary::Max: y[i] = x > z ? x : z; break;
      default: y[i] = x < z ? x : z; break;
    }
  }
}

template <typename T>
__global__ void rangeKernel(int64_t n, T* y, double start, double step) {
  for (int64_t i = globalThread(); i < n; i += globalThreads()) y[i] = castFloat<T>(float(start + double(i) * step));
}

template <>
__global__ void rangeKernel<int64_t>(int64_t n, int64_t* y, double start, double step) {
  for (int64_t i = globalThread(); i < n; i += globalThreads()) y[i] = int64_t(start) + i * int64_t(step);
}

}  // namespace

void binaryInt(Binary op, const NdShape& out, const NdStrides& sa, const void* a, const NdStrides& sb, const void* b,
               DType t, void* y, cudaStream_t stream) {
  int64_t n = checkShape(out, "binaryInt");
  if (op == Binary::Pow) fail("ERR_INVALID_ARGUMENT", "binaryInt: Pow is not supported on integers");
  auto go = [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (n == 0) return;
    const NdStrides* st[2] = {&sa, &sb};
    binaryIntKernel<T><<<gridFor(n, kBlock), kBlock, 0, stream>>>(op, n, walkOf<2>(out, st), static_cast<const T*>(a),
                                                                  static_cast<const T*>(b), static_cast<T*>(y));
    CUDA_CHECK_LAUNCH();
  };
  if (t == DType::I32) go(TypeTag<int32_t>{});
  else if (t == DType::I64) go(TypeTag<int64_t>{});
  else fail("ERR_INVALID_ARGUMENT", "binaryInt supports int32 and int64, not " + dtypeName(t));
}

void range(int64_t n, DType t, void* y, double start, double step, cudaStream_t stream) {
  if (n < 0) fail("ERR_INVALID_ARGUMENT", "range: negative element count");
  dispatchAll(t, "range", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (n == 0) return;
    rangeKernel<T><<<gridFor(n, kBlock), kBlock, 0, stream>>>(n, static_cast<T*>(y), start, step);
    CUDA_CHECK_LAUNCH();
  });
}

void compare(Compare op, const NdShape& out, const NdStrides& sa, const void* a, const NdStrides& sb, const void* b,
             DType inT, void* y, cudaStream_t stream) {
  int64_t n = checkShape(out, "compare");
  if (static_cast<int>(op) < 0 || static_cast<int>(op) > static_cast<int>(Compare::Xor))
    fail("ERR_INVALID_ARGUMENT", "compare: unknown op " + std::to_string(static_cast<int>(op)));
  bool logical = op == Compare::And || op == Compare::Or || op == Compare::Xor;
  if (logical && inT != DType::BOOL) fail("ERR_INVALID_ARGUMENT", "compare: And/Or/Xor take bool operands");
  dispatchAll(inT, "compare", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (n == 0) return;
    const NdStrides* st[2] = {&sa, &sb};
    compareKernel<T><<<gridFor(n, kBlock), kBlock, 0, stream>>>(op, n, walkOf<2>(out, st), static_cast<const T*>(a),
                                                                static_cast<const T*>(b), static_cast<bool*>(y));
    CUDA_CHECK_LAUNCH();
  });
}

void predicate(Predicate p, int64_t n, DType inT, const void* x, void* y, cudaStream_t stream) {
  if (n < 0) fail("ERR_INVALID_ARGUMENT", "predicate: negative element count");
  if (p == Predicate::Not && inT != DType::BOOL) fail("ERR_INVALID_ARGUMENT", "predicate: Not takes a bool operand");
  if (p != Predicate::Not && inT != DType::F32 && inT != DType::F16)
    fail("ERR_INVALID_ARGUMENT", "predicate: IsNaN/IsInf take float operands");
  dispatchAll(inT, "predicate", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (n == 0) return;
    predicateKernel<T><<<gridFor(n, kBlock), kBlock, 0, stream>>>(p, n, static_cast<const T*>(x),
                                                                  static_cast<bool*>(y));
    CUDA_CHECK_LAUNCH();
  });
}

void where(const NdShape& out, const NdStrides& sc, const void* cond, const NdStrides& sa, const void* a,
           const NdStrides& sb, const void* b, DType t, void* y, cudaStream_t stream) {
  int64_t n = checkShape(out, "where");
  dispatchAll(t, "where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (n == 0) return;
    const NdStrides* st[3] = {&sc, &sa, &sb};
    whereKernel<T><<<gridFor(n, kBlock), kBlock, 0, stream>>>(n, walkOf<3>(out, st), static_cast<const bool*>(cond),
                                                              static_cast<const T*>(a), static_cast<const T*>(b),
                                                              static_cast<T*>(y));
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
