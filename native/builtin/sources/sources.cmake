# External tactic sources of the builtin backend: cuDNN 9 and cuBLASLt 12/13. Always compiled: the API subset they
# call is declared in shim/ (checked against the real headers by shim/check.sh), and the libraries are loaded with
# dlopen at run time, never linked (${CMAKE_DL_LIBS} is already on the target). So an addon built where neither
# library nor header exists has the same tactic sources as one built on the GPU machine, and it still loads and
# works on machines without the libraries. Included from native/builtin/builtin.cmake.
set(NTRT_SOURCES_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(${PROJECT_NAME} PRIVATE ${NTRT_SOURCES_DIR}/sources.cc ${NTRT_SOURCES_DIR}/epilogue.cu
  ${NTRT_SOURCES_DIR}/cudnn_source.cc ${NTRT_SOURCES_DIR}/cublaslt_source.cc)
message(STATUS "node-tensorrt: cuDNN and cuBLASLt tactics: ON (declared in native/builtin/sources/shim, dlopen'ed)")
