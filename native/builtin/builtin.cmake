# The builtin backend: program executor, builder, runtime, and its kernels; the cuDNN and cuBLASLt tactic sources.
file(GLOB NTRT_BUILTIN_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/native/builtin/*.cc ${CMAKE_SOURCE_DIR}/native/builtin/*.cu
  ${CMAKE_SOURCE_DIR}/native/builtin/kernels/*.cu)
target_sources(${PROJECT_NAME} PRIVATE ${NTRT_BUILTIN_SOURCES} ${CMAKE_SOURCE_DIR}/native/addon/builtin/NativeBuiltinEngine.cc
  ${CMAKE_SOURCE_DIR}/native/addon/builtin/program_js.cc)
target_compile_definitions(${PROJECT_NAME} PRIVATE NTRT_HAVE_BUILTIN)
include(${CMAKE_SOURCE_DIR}/native/builtin/sources/sources.cmake)
