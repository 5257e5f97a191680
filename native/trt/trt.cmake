# The TensorRT backend: compiled only when the SDK (NvInfer.h, NvOnnxParser.h, libnvinfer, libnvonnxparser) is found.
# The libraries are found but not linked: native/trt/loader.cc opens them with dlopen at run time, so the same addon
# loads on machines without TensorRT and reports why the backend is unavailable.
#
# Where it looks: TENSORRT_ROOT (a CMake variable or environment variable; the tar archive's folder, or any folder with
# include/ and lib/) and only there when it is set; otherwise NVIDIA's apt packages (/usr/include/x86_64-linux-gnu,
# /usr/lib/x86_64-linux-gnu), /usr/local/tensorrt, and the pip wheels' tensorrt_libs folder (tensorrt-cu12/-cu13).

set(_ntrt_trt_root "")
set(_ntrt_trt_where "")
set(_ntrt_trt_too_old OFF)
if(DEFINED TENSORRT_ROOT AND NOT "${TENSORRT_ROOT}" STREQUAL "")
  set(_ntrt_trt_root "${TENSORRT_ROOT}")
elseif(DEFINED ENV{TENSORRT_ROOT} AND NOT "$ENV{TENSORRT_ROOT}" STREQUAL "")
  set(_ntrt_trt_root "$ENV{TENSORRT_ROOT}")
endif()

# pip wheels ship the libraries (not the headers) in site-packages/tensorrt_libs; find it without importing it.
set(_ntrt_trt_wheel "")
find_program(_ntrt_python NAMES python3 python)
if(_ntrt_python)
  execute_process(
    COMMAND "${_ntrt_python}" -c "import importlib.util as u; s = u.find_spec('tensorrt_libs'); print(list(s.submodule_search_locations)[0] if s else '')"
    OUTPUT_VARIABLE _ntrt_trt_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET TIMEOUT 20)
endif()
unset(_ntrt_python CACHE)

set(_ntrt_trt_inc_hints)
set(_ntrt_trt_lib_hints)
if(_ntrt_trt_root)
  set(_ntrt_trt_search NO_DEFAULT_PATH)
  list(APPEND _ntrt_trt_inc_hints "${_ntrt_trt_root}/include" "${_ntrt_trt_root}")
  list(APPEND _ntrt_trt_lib_hints "${_ntrt_trt_root}/lib" "${_ntrt_trt_root}/lib64" "${_ntrt_trt_root}/targets/x86_64-linux/lib"
       "${_ntrt_trt_root}/tensorrt_libs" "${_ntrt_trt_root}")
  set(_ntrt_trt_where "${_ntrt_trt_root}")
else()
  set(_ntrt_trt_search "")
  list(APPEND _ntrt_trt_inc_hints /usr/include/x86_64-linux-gnu /usr/local/tensorrt/include /usr/include)
  list(APPEND _ntrt_trt_lib_hints /usr/lib/x86_64-linux-gnu /usr/local/tensorrt/lib /usr/local/tensorrt/lib64)
endif()
if(_ntrt_trt_wheel)
  list(APPEND _ntrt_trt_lib_hints "${_ntrt_trt_wheel}")
endif()

# Searched afresh on every configure, so a changed TENSORRT_ROOT takes effect.
foreach(_v NTRT_TRT_INFER_H NTRT_TRT_PARSER_H NTRT_TRT_NVINFER NTRT_TRT_NVONNXPARSER)
  unset(${_v} CACHE)
endforeach()
find_path(NTRT_TRT_INFER_H NvInfer.h HINTS ${_ntrt_trt_inc_hints} ${_ntrt_trt_search})
find_path(NTRT_TRT_PARSER_H NvOnnxParser.h HINTS ${_ntrt_trt_inc_hints} ${_ntrt_trt_search})

set(_ntrt_trt_off "")
set(_ntrt_trt_version "")
if(NOT NTRT_TRT_INFER_H)
  set(_ntrt_trt_off "NvInfer.h not found")
elseif(NOT NTRT_TRT_PARSER_H)
  set(_ntrt_trt_off "NvOnnxParser.h not found")
else()
  # 10.x+ defines NV_TENSORRT_MAJOR through TRT_MAJOR_ENTERPRISE; older releases define it directly.
  file(STRINGS "${NTRT_TRT_INFER_H}/NvInferVersion.h" _ntrt_trt_defs REGEX "#define +(NV_TENSORRT|TRT)_(MAJOR|MINOR|PATCH)(_ENTERPRISE)? +[0-9]+")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX MATCH "#define +(NV_TENSORRT_${_part}|TRT_${_part}_ENTERPRISE) +([0-9]+)" _m "${_ntrt_trt_defs}")
    set(_ntrt_trt_${_part} "${CMAKE_MATCH_2}")
  endforeach()
  set(_ntrt_trt_version "${_ntrt_trt_MAJOR}.${_ntrt_trt_MINOR}.${_ntrt_trt_PATCH}")
  if("${_ntrt_trt_MAJOR}" STREQUAL "")
    set(_ntrt_trt_off "could not read the version from ${NTRT_TRT_INFER_H}/NvInferVersion.h")
  elseif(_ntrt_trt_MAJOR LESS 10)
    set(_ntrt_trt_off "TensorRT ${_ntrt_trt_version} found at ${NTRT_TRT_INFER_H}; 10.x or 11.x is required")
    set(_ntrt_trt_too_old ON)
  else()
    find_library(NTRT_TRT_NVINFER NAMES nvinfer "libnvinfer.so.${_ntrt_trt_MAJOR}" HINTS ${_ntrt_trt_lib_hints} ${_ntrt_trt_search})
    find_library(NTRT_TRT_NVONNXPARSER NAMES nvonnxparser "libnvonnxparser.so.${_ntrt_trt_MAJOR}"
                 HINTS ${_ntrt_trt_lib_hints} ${_ntrt_trt_search})
    if(NOT NTRT_TRT_NVINFER)
      set(_ntrt_trt_off "libnvinfer not found")
    elseif(NOT NTRT_TRT_NVONNXPARSER)
      set(_ntrt_trt_off "libnvonnxparser not found")
    endif()
  endif()
endif()

if(_ntrt_trt_off)
  if(_ntrt_trt_too_old)
  elseif(_ntrt_trt_root)
    string(APPEND _ntrt_trt_off " under TENSORRT_ROOT=${_ntrt_trt_root}")
  else()
    string(APPEND _ntrt_trt_off "; set TENSORRT_ROOT to the SDK folder")
  endif()
  message(STATUS "node-tensorrt: TensorRT backend: OFF (${_ntrt_trt_off})")
else()
  get_filename_component(_ntrt_trt_libdir "${NTRT_TRT_NVINFER}" DIRECTORY)
  if(NOT _ntrt_trt_where)
    set(_ntrt_trt_where "${NTRT_TRT_INFER_H}, libraries in ${_ntrt_trt_libdir}")
  else()
    string(FIND "${_ntrt_trt_libdir}/" "${_ntrt_trt_where}/" _ntrt_trt_inside)
    if(NOT _ntrt_trt_inside EQUAL 0)
      string(APPEND _ntrt_trt_where ", libraries in ${_ntrt_trt_libdir}")
    endif()
  endif()
  message(STATUS "node-tensorrt: TensorRT backend: ON (${_ntrt_trt_version} at ${_ntrt_trt_where})")
  file(GLOB _ntrt_trt_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cc)
  list(FILTER _ntrt_trt_sources EXCLUDE REGEX "availability_stub\\.cc$")
  target_sources(${PROJECT_NAME} PRIVATE ${_ntrt_trt_sources})
  target_include_directories(${PROJECT_NAME} SYSTEM PRIVATE "${NTRT_TRT_INFER_H}" "${NTRT_TRT_PARSER_H}")
  # NTRT_TRT_LIBDIR: where dlopen looks first, before the loader's search path.
  target_compile_definitions(${PROJECT_NAME} PRIVATE "NTRT_TRT_LIBDIR=\"${_ntrt_trt_libdir}\"")
  set(NTRT_TRT_ADDED ON)
endif()
