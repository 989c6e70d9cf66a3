# Decides whether cuda/ is compiled in, and why not when it is not.
# Sets TINYNN_CUDA_SOURCES and defines tinynn_configure_cuda(target).
set(TINYNN_CUDA_SOURCES "")
set(TINYNN_CUDA_ENABLED OFF)
set(CUDA_OFF_REASON "")

if(TINYNN_CUDA STREQUAL "off")
  set(CUDA_OFF_REASON "built with TINYNN_CUDA=off")
elseif(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # cuda/ loads libcuda and libcublas with dlopen.
  set(CUDA_OFF_REASON "built without CUDA: the CUDA backend is Linux-only")
else()
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    set(CUDA_OFF_REASON "built without CUDA: nvcc was not found at build time")
  else()
    # cuBLAS headers: -DTINYNN_CUBLAS_INCLUDE, $TINYNN_CUBLAS_INCLUDE, .deps/cublas/include
    # (scripts/fetch-cublas-headers.sh), or the toolkit's own include directory.
    find_path(TINYNN_CUBLAS_INCLUDE_DIR cublas_v2.h
              HINTS ${TINYNN_CUBLAS_INCLUDE} $ENV{TINYNN_CUBLAS_INCLUDE}
                    ${CMAKE_SOURCE_DIR}/.deps/cublas/include
                    $ENV{CUDA_HOME}/include /usr/local/cuda/include)
    if(NOT TINYNN_CUBLAS_INCLUDE_DIR)
      set(CUDA_OFF_REASON "built without CUDA: cublas_v2.h was not found at build time (run scripts/fetch-cublas-headers.sh)")
    else()
      set(TINYNN_CUDA_ENABLED ON)
    endif()
  endif()
endif()

if(TINYNN_CUDA_ENABLED)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 75-real 80-real 86-real 89-real 90-real 90-virtual)
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  file(GLOB TINYNN_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/cuda/*.cu ${CMAKE_SOURCE_DIR}/cuda/*.cc)
  message(STATUS "tinynn: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, cuBLAS headers in ${TINYNN_CUBLAS_INCLUDE_DIR}, archs ${CMAKE_CUDA_ARCHITECTURES})")
elseif(TINYNN_CUDA STREQUAL "on")
  message(FATAL_ERROR "tinynn: TINYNN_CUDA=on but ${CUDA_OFF_REASON}")
else()
  set(TINYNN_CUDA_SOURCES ${CMAKE_SOURCE_DIR}/cpp/cuda_unavailable/cuda_unavailable.cc)
  message(STATUS "tinynn: CPU-only build (${CUDA_OFF_REASON})")
endif()

function(tinynn_configure_cuda target)
  if(TINYNN_CUDA_ENABLED)
    target_compile_definitions(${target} PRIVATE TINYNN_WITH_CUDA=1)
    target_include_directories(${target} PRIVATE ${TINYNN_CUBLAS_INCLUDE_DIR} ${CUDAToolkit_INCLUDE_DIRS})
    target_link_libraries(${target} PRIVATE CUDA::cudart_static)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-O3 --expt-relaxed-constexpr -Xcompiler=-fvisibility=hidden>)
    set_target_properties(${target} PROPERTIES CUDA_RUNTIME_LIBRARY Static)
  else()
    target_compile_definitions(${target} PRIVATE "CUDA_OFF_REASON=\"${CUDA_OFF_REASON}\"")
  endif()
endfunction()
