# The builtin backend: program executor, builder, runtime, and its kernels; the cuDNN and cuBLASLt tactic sources.
file(GLOB NTRT_BUILTIN_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/native/builtin/*.cc ${CMAKE_SOURCE_DIR}/native/builtin/*.cu
  ${CMAKE_SOURCE_DIR}/native/builtin/kernels/*.cu)
# wgmma and TMA exist only in sm_90a, Hopper's architecture-specific target: that file is built for it alone, when
# 90 is among the architectures, and its tactics are offered on compute capability 9.0 (conv_wgmma.cu).
list(FILTER NTRT_BUILTIN_SOURCES EXCLUDE REGEX "/conv_wgmma\\.cu$")
if("90" IN_LIST NTRT_SASS_ARCHS)
  add_library(ntrt_wgmma OBJECT ${CMAKE_SOURCE_DIR}/native/builtin/kernels/conv_wgmma.cu)
  set_target_properties(ntrt_wgmma PROPERTIES CUDA_ARCHITECTURES OFF POSITION_INDEPENDENT_CODE ON
    CUDA_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden)
  target_include_directories(ntrt_wgmma PRIVATE ${CMAKE_SOURCE_DIR}/native)
  target_compile_options(ntrt_wgmma PRIVATE -O3 --expt-relaxed-constexpr -Xcompiler=-Wall,-Wno-unused-parameter
    -gencode=arch=compute_90a,code=sm_90a)
  target_sources(${PROJECT_NAME} PRIVATE $<TARGET_OBJECTS:ntrt_wgmma>)
  target_compile_definitions(${PROJECT_NAME} PRIVATE NTRT_HAVE_WGMMA)
endif()
target_sources(${PROJECT_NAME} PRIVATE ${NTRT_BUILTIN_SOURCES} ${CMAKE_SOURCE_DIR}/native/addon/builtin/NativeBuiltinEngine.cc
  ${CMAKE_SOURCE_DIR}/native/addon/builtin/program_js.cc)
target_compile_definitions(${PROJECT_NAME} PRIVATE NTRT_HAVE_BUILTIN)
include(${CMAKE_SOURCE_DIR}/native/builtin/sources/sources.cmake)
