// Checks the project's cuDNN and cuBLASLt declarations (cudnn_api.h, cublaslt_api.h) against the real headers: every
// enumerator's value, every struct's layout and every function's type, all at compile time. Run by check.sh on a
// machine that has cudnn.h and cublasLt.h; it prints the header versions it was checked against.
#include <cublasLt.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdio>
#include <type_traits>

#include "cublaslt_api.h"
#include "cudnn_api.h"

namespace {

namespace dnn = ntrt::cudnn_api;
namespace lt = ntrt::cublaslt_api;

// Real<T>: the type the real headers use where the shim uses T (enums, structs and opaque descriptors are the
// shim's own types); anything else maps to itself. Applied through pointers, const and function types.
template <typename T>
struct Real {
  using type = T;
};
template <typename T>
using RealT = typename Real<T>::type;
template <typename T>
struct Real<T*> {
  using type = RealT<T>*;
};
template <typename T>
struct Real<const T> {
  using type = const RealT<T>;
};
template <typename R, typename... A>
struct Real<R (*)(A...)> {
  using type = RealT<R> (*)(RealT<A>...);
};
#define NTRT_MAP(shim, real) \
  template <>                \
  struct Real<shim> {        \
    using type = real;       \
  };

NTRT_MAP(dnn::cudnnStatus_t, ::cudnnStatus_t)
NTRT_MAP(dnn::cudnnDataType_t, ::cudnnDataType_t)
NTRT_MAP(dnn::cudnnMathType_t, ::cudnnMathType_t)
NTRT_MAP(dnn::cudnnNanPropagation_t, ::cudnnNanPropagation_t)
NTRT_MAP(dnn::cudnnDeterminism_t, ::cudnnDeterminism_t)
NTRT_MAP(dnn::cudnnTensorFormat_t, ::cudnnTensorFormat_t)
NTRT_MAP(dnn::cudnnActivationMode_t, ::cudnnActivationMode_t)
NTRT_MAP(dnn::cudnnConvolutionMode_t, ::cudnnConvolutionMode_t)
NTRT_MAP(dnn::cudnnConvolutionFwdAlgo_t, ::cudnnConvolutionFwdAlgo_t)
NTRT_MAP(dnn::cudnnConvolutionFwdAlgoPerf_t, ::cudnnConvolutionFwdAlgoPerf_t)

NTRT_MAP(lt::cublasStatus_t, ::cublasStatus_t)
NTRT_MAP(lt::cublasOperation_t, ::cublasOperation_t)
NTRT_MAP(lt::cublasComputeType_t, ::cublasComputeType_t)
NTRT_MAP(lt::cublasLtMatmulDescAttributes_t, ::cublasLtMatmulDescAttributes_t)
NTRT_MAP(lt::cublasLtEpilogue_t, ::cublasLtEpilogue_t)
NTRT_MAP(lt::cublasLtMatmulPreferenceAttributes_t, ::cublasLtMatmulPreferenceAttributes_t)
NTRT_MAP(lt::cublasLtMatmulAlgo_t, ::cublasLtMatmulAlgo_t)
NTRT_MAP(lt::cublasLtMatmulHeuristicResult_t, ::cublasLtMatmulHeuristicResult_t)
NTRT_MAP(lt::cublasLtMatmulDescOpaque, ::cublasLtMatmulDescOpaque_t)
NTRT_MAP(lt::cublasLtMatrixLayoutOpaque, ::cublasLtMatrixLayoutOpaque_t)
NTRT_MAP(lt::cublasLtMatmulPreferenceOpaque, ::cublasLtMatmulPreferenceOpaque_t)
#undef NTRT_MAP

// Same size and signedness-independent values: an enum passed by value must match the real one bit for bit.
template <typename Shim>
constexpr bool sameEnumSize = sizeof(Shim) == sizeof(RealT<Shim>) && std::is_enum_v<RealT<Shim>>;

#define NTRT_ENUM_TYPE(ns, t) static_assert(sameEnumSize<ns::t>, #t " differs in size from the real header");
#define NTRT_VALUE(ns, e) \
  static_assert(static_cast<long long>(ns::e) == static_cast<long long>(::e), #e " differs from the real header");
#define NTRT_FUNCTION(ns, f)                                                                   \
  static_assert(std::is_same_v<RealT<decltype(&ns::f)>, decltype(&::f)>,                       \
                #f " differs in type from the real header");
#define NTRT_FIELD(ns, s, f)                                                                   \
  static_assert(offsetof(ns::s, f) == offsetof(::s, f) &&                                      \
                    std::is_same_v<RealT<decltype(ns::s::f)>, decltype(::s::f)>,               \
                #s "::" #f " differs from the real header");

// cuDNN: handles are the real types (the shim declares the same global structs).
static_assert(std::is_same_v<dnn::cudnnHandle_t, ::cudnnHandle_t>);
static_assert(std::is_same_v<dnn::cudnnTensorDescriptor_t, ::cudnnTensorDescriptor_t>);
static_assert(std::is_same_v<dnn::cudnnFilterDescriptor_t, ::cudnnFilterDescriptor_t>);
static_assert(std::is_same_v<dnn::cudnnConvolutionDescriptor_t, ::cudnnConvolutionDescriptor_t>);
static_assert(std::is_same_v<dnn::cudnnActivationDescriptor_t, ::cudnnActivationDescriptor_t>);
static_assert(dnn::kMajor == CUDNN_MAJOR, "the shim describes another cuDNN major version");

NTRT_ENUM_TYPE(dnn, cudnnStatus_t)
NTRT_ENUM_TYPE(dnn, cudnnDataType_t)
NTRT_ENUM_TYPE(dnn, cudnnMathType_t)
NTRT_ENUM_TYPE(dnn, cudnnNanPropagation_t)
NTRT_ENUM_TYPE(dnn, cudnnDeterminism_t)
NTRT_ENUM_TYPE(dnn, cudnnTensorFormat_t)
NTRT_ENUM_TYPE(dnn, cudnnActivationMode_t)
NTRT_ENUM_TYPE(dnn, cudnnConvolutionMode_t)
NTRT_ENUM_TYPE(dnn, cudnnConvolutionFwdAlgo_t)

NTRT_VALUE(dnn, CUDNN_STATUS_SUCCESS)
NTRT_VALUE(dnn, CUDNN_STATUS_NOT_SUPPORTED)
NTRT_VALUE(dnn, CUDNN_DATA_FLOAT)
NTRT_VALUE(dnn, CUDNN_DATA_HALF)
NTRT_VALUE(dnn, CUDNN_DEFAULT_MATH)
NTRT_VALUE(dnn, CUDNN_TENSOR_OP_MATH)
NTRT_VALUE(dnn, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
NTRT_VALUE(dnn, CUDNN_FMA_MATH)
NTRT_VALUE(dnn, CUDNN_NOT_PROPAGATE_NAN)
NTRT_VALUE(dnn, CUDNN_NON_DETERMINISTIC)
NTRT_VALUE(dnn, CUDNN_DETERMINISTIC)
NTRT_VALUE(dnn, CUDNN_TENSOR_NCHW)
NTRT_VALUE(dnn, CUDNN_TENSOR_NHWC)
NTRT_VALUE(dnn, CUDNN_ACTIVATION_RELU)
NTRT_VALUE(dnn, CUDNN_ACTIVATION_IDENTITY)
NTRT_VALUE(dnn, CUDNN_CONVOLUTION)
NTRT_VALUE(dnn, CUDNN_CROSS_CORRELATION)
NTRT_VALUE(dnn, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM)
NTRT_VALUE(dnn, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
NTRT_VALUE(dnn, CUDNN_CONVOLUTION_FWD_ALGO_GEMM)
NTRT_VALUE(dnn, CUDNN_CONVOLUTION_FWD_ALGO_DIRECT)
NTRT_VALUE(dnn, CUDNN_CONVOLUTION_FWD_ALGO_FFT)
NTRT_VALUE(dnn, CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING)
NTRT_VALUE(dnn, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD)
NTRT_VALUE(dnn, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED)
NTRT_VALUE(dnn, CUDNN_CONVOLUTION_FWD_ALGO_COUNT)

static_assert(sizeof(dnn::cudnnConvolutionFwdAlgoPerf_t) == sizeof(::cudnnConvolutionFwdAlgoPerf_t));
NTRT_FIELD(dnn, cudnnConvolutionFwdAlgoPerf_t, algo)
NTRT_FIELD(dnn, cudnnConvolutionFwdAlgoPerf_t, status)
NTRT_FIELD(dnn, cudnnConvolutionFwdAlgoPerf_t, time)
NTRT_FIELD(dnn, cudnnConvolutionFwdAlgoPerf_t, memory)
NTRT_FIELD(dnn, cudnnConvolutionFwdAlgoPerf_t, determinism)
NTRT_FIELD(dnn, cudnnConvolutionFwdAlgoPerf_t, mathType)
NTRT_FIELD(dnn, cudnnConvolutionFwdAlgoPerf_t, reserved)

NTRT_FUNCTION(dnn, cudnnGetVersion)
NTRT_FUNCTION(dnn, cudnnGetErrorString)
NTRT_FUNCTION(dnn, cudnnCreate)
NTRT_FUNCTION(dnn, cudnnDestroy)
NTRT_FUNCTION(dnn, cudnnSetStream)
NTRT_FUNCTION(dnn, cudnnCreateTensorDescriptor)
NTRT_FUNCTION(dnn, cudnnDestroyTensorDescriptor)
NTRT_FUNCTION(dnn, cudnnSetTensor4dDescriptor)
NTRT_FUNCTION(dnn, cudnnCreateFilterDescriptor)
NTRT_FUNCTION(dnn, cudnnDestroyFilterDescriptor)
NTRT_FUNCTION(dnn, cudnnSetFilter4dDescriptor)
NTRT_FUNCTION(dnn, cudnnCreateConvolutionDescriptor)
NTRT_FUNCTION(dnn, cudnnDestroyConvolutionDescriptor)
NTRT_FUNCTION(dnn, cudnnSetConvolution2dDescriptor)
NTRT_FUNCTION(dnn, cudnnSetConvolutionGroupCount)
NTRT_FUNCTION(dnn, cudnnSetConvolutionMathType)
NTRT_FUNCTION(dnn, cudnnGetConvolution2dForwardOutputDim)
NTRT_FUNCTION(dnn, cudnnGetConvolutionForwardAlgorithmMaxCount)
NTRT_FUNCTION(dnn, cudnnGetConvolutionForwardAlgorithm_v7)
NTRT_FUNCTION(dnn, cudnnGetConvolutionForwardWorkspaceSize)
NTRT_FUNCTION(dnn, cudnnConvolutionForward)
NTRT_FUNCTION(dnn, cudnnConvolutionBiasActivationForward)
NTRT_FUNCTION(dnn, cudnnCreateActivationDescriptor)
NTRT_FUNCTION(dnn, cudnnDestroyActivationDescriptor)
NTRT_FUNCTION(dnn, cudnnSetActivationDescriptor)

// cuBLASLt.
static_assert(std::is_same_v<lt::cublasLtHandle_t, ::cublasLtHandle_t>);
static_assert(std::is_same_v<RealT<lt::cublasLtMatmulDesc_t>, ::cublasLtMatmulDesc_t>);
static_assert(std::is_same_v<RealT<lt::cublasLtMatrixLayout_t>, ::cublasLtMatrixLayout_t>);
static_assert(std::is_same_v<RealT<lt::cublasLtMatmulPreference_t>, ::cublasLtMatmulPreference_t>);
static_assert(CUBLAS_VER_MAJOR == lt::kMajors[0] || CUBLAS_VER_MAJOR == lt::kMajors[1],
              "the shim does not try this cuBLAS major version");

NTRT_ENUM_TYPE(lt, cublasStatus_t)
NTRT_ENUM_TYPE(lt, cublasOperation_t)
NTRT_ENUM_TYPE(lt, cublasComputeType_t)
NTRT_ENUM_TYPE(lt, cublasLtMatmulDescAttributes_t)
NTRT_ENUM_TYPE(lt, cublasLtEpilogue_t)
NTRT_ENUM_TYPE(lt, cublasLtMatmulPreferenceAttributes_t)

NTRT_VALUE(lt, CUBLAS_STATUS_SUCCESS)
NTRT_VALUE(lt, CUBLAS_STATUS_NOT_INITIALIZED)
NTRT_VALUE(lt, CUBLAS_STATUS_ALLOC_FAILED)
NTRT_VALUE(lt, CUBLAS_STATUS_INVALID_VALUE)
NTRT_VALUE(lt, CUBLAS_STATUS_ARCH_MISMATCH)
NTRT_VALUE(lt, CUBLAS_STATUS_MAPPING_ERROR)
NTRT_VALUE(lt, CUBLAS_STATUS_EXECUTION_FAILED)
NTRT_VALUE(lt, CUBLAS_STATUS_INTERNAL_ERROR)
NTRT_VALUE(lt, CUBLAS_STATUS_NOT_SUPPORTED)
NTRT_VALUE(lt, CUBLAS_STATUS_LICENSE_ERROR)
NTRT_VALUE(lt, CUBLAS_OP_N)
NTRT_VALUE(lt, CUBLAS_OP_T)
NTRT_VALUE(lt, CUBLAS_COMPUTE_32F)
NTRT_VALUE(lt, CUBLASLT_MATMUL_DESC_TRANSA)
NTRT_VALUE(lt, CUBLASLT_MATMUL_DESC_TRANSB)
NTRT_VALUE(lt, CUBLASLT_MATMUL_DESC_EPILOGUE)
NTRT_VALUE(lt, CUBLASLT_MATMUL_DESC_BIAS_POINTER)
NTRT_VALUE(lt, CUBLASLT_EPILOGUE_DEFAULT)
NTRT_VALUE(lt, CUBLASLT_EPILOGUE_RELU)
NTRT_VALUE(lt, CUBLASLT_EPILOGUE_BIAS)
NTRT_VALUE(lt, CUBLASLT_EPILOGUE_RELU_BIAS)
NTRT_VALUE(lt, CUBLASLT_EPILOGUE_GELU)
NTRT_VALUE(lt, CUBLASLT_EPILOGUE_GELU_BIAS)
NTRT_VALUE(lt, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES)
NTRT_VALUE(lt, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES)
NTRT_VALUE(lt, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES)
NTRT_VALUE(lt, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES)
NTRT_VALUE(lt, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES)

static_assert(sizeof(lt::cublasLtMatmulAlgo_t) == sizeof(::cublasLtMatmulAlgo_t));
NTRT_FIELD(lt, cublasLtMatmulAlgo_t, data)
static_assert(sizeof(lt::cublasLtMatmulHeuristicResult_t) == sizeof(::cublasLtMatmulHeuristicResult_t));
NTRT_FIELD(lt, cublasLtMatmulHeuristicResult_t, algo)
NTRT_FIELD(lt, cublasLtMatmulHeuristicResult_t, workspaceSize)
NTRT_FIELD(lt, cublasLtMatmulHeuristicResult_t, state)
NTRT_FIELD(lt, cublasLtMatmulHeuristicResult_t, wavesCount)
NTRT_FIELD(lt, cublasLtMatmulHeuristicResult_t, reserved)

NTRT_FUNCTION(lt, cublasLtGetVersion)
NTRT_FUNCTION(lt, cublasLtGetStatusString)
NTRT_FUNCTION(lt, cublasLtCreate)
NTRT_FUNCTION(lt, cublasLtDestroy)
NTRT_FUNCTION(lt, cublasLtMatmulDescCreate)
NTRT_FUNCTION(lt, cublasLtMatmulDescDestroy)
NTRT_FUNCTION(lt, cublasLtMatmulDescSetAttribute)
NTRT_FUNCTION(lt, cublasLtMatrixLayoutCreate)
NTRT_FUNCTION(lt, cublasLtMatrixLayoutDestroy)
NTRT_FUNCTION(lt, cublasLtMatmulPreferenceCreate)
NTRT_FUNCTION(lt, cublasLtMatmulPreferenceDestroy)
NTRT_FUNCTION(lt, cublasLtMatmulPreferenceSetAttribute)
NTRT_FUNCTION(lt, cublasLtMatmulAlgoGetHeuristic)
NTRT_FUNCTION(lt, cublasLtMatmulAlgoCheck)
NTRT_FUNCTION(lt, cublasLtMatmul)

}  // namespace

int main() {
  std::printf("cudnn_api.h matches cudnn.h %d.%d.%d; cublaslt_api.h matches cublasLt.h %d.%d.%d\n", CUDNN_MAJOR,
              CUDNN_MINOR, CUDNN_PATCHLEVEL, CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH);
  return 0;
}
