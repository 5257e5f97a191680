# External tactic sources of the builtin backend. Each is compiled when its header is found at configure time and is
# loaded with dlopen at run time, never linked (${CMAKE_DL_LIBS} is already on the target), so the addon still loads
# and works on machines without the library. Included from native/builtin/builtin.cmake.
#   cuDNN:    cudnn.h in CUDNN_INCLUDE_DIR, CUDNN_ROOT[/include] (CMake or environment), /usr/include/<arch>, the toolkit
#   cuBLASLt: cublasLt.h in CUBLASLT_INCLUDE_DIR (CMake or environment) or the CUDA toolkit include dir
set(NTRT_SOURCES_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(${PROJECT_NAME} PRIVATE ${NTRT_SOURCES_DIR}/sources.cc ${NTRT_SOURCES_DIR}/epilogue.cu)

function(ntrt_hint_dirs out)
  set(dirs)
  foreach(var ${ARGN})
    foreach(value "${${var}}" "$ENV{${var}}")
      if(NOT "${value}" STREQUAL "")
        list(APPEND dirs "${value}" "${value}/include")
      endif()
    endforeach()
  endforeach()
  set(${out} ${dirs} PARENT_SCOPE)
endfunction()

# cuDNN
ntrt_hint_dirs(NTRT_CUDNN_HINTS CUDNN_INCLUDE_DIR CUDNN_ROOT)
find_path(NTRT_CUDNN_INCLUDE_DIR NAMES cudnn.h
  HINTS ${NTRT_CUDNN_HINTS}
  PATHS /usr/include/x86_64-linux-gnu /usr/include/aarch64-linux-gnu /usr/include ${CUDAToolkit_INCLUDE_DIRS})
set(NTRT_CUDNN_MAJOR "")
if(NTRT_CUDNN_INCLUDE_DIR AND EXISTS "${NTRT_CUDNN_INCLUDE_DIR}/cudnn_version.h")
  file(STRINGS "${NTRT_CUDNN_INCLUDE_DIR}/cudnn_version.h" NTRT_CUDNN_MAJOR_LINE REGEX "^#define CUDNN_MAJOR [0-9]+")
  string(REGEX REPLACE "^#define CUDNN_MAJOR ([0-9]+).*" "\\1" NTRT_CUDNN_MAJOR "${NTRT_CUDNN_MAJOR_LINE}")
endif()
if(NTRT_CUDNN_MAJOR AND NTRT_CUDNN_MAJOR GREATER_EQUAL 8)
  target_sources(${PROJECT_NAME} PRIVATE ${NTRT_SOURCES_DIR}/cudnn_source.cc)
  set_source_files_properties(${NTRT_SOURCES_DIR}/cudnn_source.cc PROPERTIES INCLUDE_DIRECTORIES "${NTRT_CUDNN_INCLUDE_DIR}")
  target_compile_definitions(${PROJECT_NAME} PRIVATE NTRT_HAVE_CUDNN)
  message(STATUS "node-tensorrt: cuDNN tactics: ON (cuDNN ${NTRT_CUDNN_MAJOR} headers in ${NTRT_CUDNN_INCLUDE_DIR})")
elseif(NTRT_CUDNN_INCLUDE_DIR)
  message(STATUS "node-tensorrt: cuDNN tactics: OFF (${NTRT_CUDNN_INCLUDE_DIR}/cudnn_version.h is missing or older than 8)")
else()
  message(STATUS "node-tensorrt: cuDNN tactics: OFF (cudnn.h not found; set CUDNN_ROOT or CUDNN_INCLUDE_DIR)")
endif()

# cuBLASLt
ntrt_hint_dirs(NTRT_CUBLASLT_HINTS CUBLASLT_INCLUDE_DIR)
find_path(NTRT_CUBLASLT_INCLUDE_DIR NAMES cublasLt.h
  HINTS ${NTRT_CUBLASLT_HINTS} ${CUDAToolkit_INCLUDE_DIRS}
  PATHS /usr/local/cuda/include /usr/include)
if(NTRT_CUBLASLT_INCLUDE_DIR)
  target_sources(${PROJECT_NAME} PRIVATE ${NTRT_SOURCES_DIR}/cublaslt_source.cc)
  set_source_files_properties(${NTRT_SOURCES_DIR}/cublaslt_source.cc PROPERTIES INCLUDE_DIRECTORIES "${NTRT_CUBLASLT_INCLUDE_DIR}")
  target_compile_definitions(${PROJECT_NAME} PRIVATE NTRT_HAVE_CUBLASLT)
  message(STATUS "node-tensorrt: cuBLASLt tactics: ON (${NTRT_CUBLASLT_INCLUDE_DIR})")
else()
  message(STATUS "node-tensorrt: cuBLASLt tactics: OFF (cublasLt.h not found in the CUDA toolkit; set CUBLASLT_INCLUDE_DIR)")
endif()
