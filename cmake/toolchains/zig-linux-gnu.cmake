# Linux builds with a glibc floor: zig c++ (clang, libc++ linked statically) against the glibc
# version ZIG_TARGET names, e.g. -DZIG_TARGET=x86_64-linux-gnu.2.28 or aarch64-linux-gnu.2.28.
# The compiler is .deps/cross/bin/<ZIG_TARGET>-c++ (scripts/install-cross-toolchains.sh).
# CUDA sources, where enabled, still go through nvcc with g++ as host compiler.
# Sub-projects CMake runs itself (check_language) see it through the environment.
if(ZIG_TARGET)
  set(ENV{TINYNN_ZIG_TARGET} ${ZIG_TARGET})
else()
  set(ZIG_TARGET $ENV{TINYNN_ZIG_TARGET})
endif()
if(NOT ZIG_TARGET)
  message(FATAL_ERROR "zig-linux-gnu.cmake: set ZIG_TARGET (e.g. x86_64-linux-gnu.2.28)")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ZIG_TARGET)
string(REGEX MATCH "^[^-]+" CMAKE_SYSTEM_PROCESSOR "${ZIG_TARGET}")
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_CXX_COMPILER ${CMAKE_CURRENT_LIST_DIR}/../../.deps/cross/bin/${ZIG_TARGET}-c++)
set(CMAKE_CUDA_HOST_COMPILER g++)
