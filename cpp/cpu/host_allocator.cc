#include "cpp/cpu/host_allocator.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cpp/errors.h"

#ifndef _WIN32
#include <sys/mman.h>
#endif

namespace tinynn::cpu {
namespace {

constexpr size_t kAlignment = 64;  // one cache line: AVX-512 loads never straddle two
// Every block reserves one alignment unit in front of the data for its header.
constexpr size_t kHeader = kAlignment;
// Blocks from this size on come straight from the kernel (mmap): they never sit in malloc's heap.
constexpr size_t kMappedFrom = size_t{256} << 10;

#if defined(__SANITIZE_ADDRESS__) || defined(TINYNN_NO_HOST_CACHE)
// Under AddressSanitizer every release frees, so a use after free is still caught.
constexpr bool kRecycle = false;
#else
constexpr bool kRecycle = true;
#endif

// Just before the data: what release() needs, so it needs no lookup.
struct Header {
  void* raw;           // what the system returned
  size_t block_bytes;  // the size class
};
Header& header_of(void* data) { return static_cast<Header*>(data)[-1]; }

// A fresh block of `block_bytes` (header included); returns its 64-byte aligned data. The small
// ones come from plain malloc aligned by hand: memalign splits off fragments that keep a freed
// block from being reused for the same size.
void* system_allocate(size_t block_bytes) {
  void* raw = nullptr;
  char* data = nullptr;
#ifdef _WIN32
  raw = _aligned_malloc(block_bytes, kAlignment);
  data = static_cast<char*>(raw) + kHeader;
#else
  if (block_bytes >= kMappedFrom) {
    raw = mmap(nullptr, block_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) raw = nullptr;
    data = static_cast<char*>(raw) + kHeader;
  } else {
    raw = std::malloc(block_bytes);
    const uintptr_t first = reinterpret_cast<uintptr_t>(raw) + sizeof(Header);
    data = reinterpret_cast<char*>((first + kAlignment - 1) / kAlignment * kAlignment);
  }
#endif
  if (!raw) throw OutOfMemory("out of host memory allocating " + std::to_string(block_bytes - kHeader) + " bytes");
  header_of(data) = Header{raw, block_bytes};
  return data;
}

void system_release(void* data) noexcept {
  const Header h = header_of(data);
#ifdef _WIN32
  _aligned_free(h.raw);
#else
  if (h.block_bytes >= kMappedFrom) munmap(h.raw, h.block_bytes);
  else std::free(h.raw);
#endif
}

}  // namespace

size_t host_block_size(size_t bytes) {
  if (bytes > SIZE_MAX / 2) throw OutOfMemory("cannot allocate " + std::to_string(bytes) + " bytes");
  const size_t n = bytes + kHeader;
  if (n <= 512) return (n + kAlignment - 1) / kAlignment * kAlignment;
  size_t power = 512;
  while (power * 2 <= n) power *= 2;
  const size_t step = power / 4;
  return (n + step - 1) / step * step;
}

HostAllocator& HostAllocator::instance() {
  static HostAllocator* allocator = new HostAllocator();
  return *allocator;
}

HostAllocator::Bucket& HostAllocator::bucket(size_t block_bytes) {
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), block_bytes,
                             [](const Bucket& b, size_t size) { return b.block_bytes < size; });
  if (it == buckets_.end() || it->block_bytes != block_bytes) it = buckets_.insert(it, Bucket{block_bytes, {}});
  return *it;
}

void* HostAllocator::allocate(size_t bytes) {
  const size_t block_bytes = host_block_size(bytes);
  if (kRecycle && block_bytes <= kLargestCached) {
    std::lock_guard<std::mutex> lock(mutex_);
    Bucket& b = bucket(block_bytes);
    if (!b.blocks.empty()) {
      void* data = b.blocks.back();
      b.blocks.pop_back();
      cached_ -= block_bytes;
      return data;
    }
  }
  return system_allocate(block_bytes);
}

void HostAllocator::release(void* data) noexcept {
  if (!data) return;
  const size_t block_bytes = header_of(data).block_bytes;
  if (kRecycle && block_bytes <= kLargestCached) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + block_bytes <= kCacheLimit) {
      try {
        bucket(block_bytes).blocks.push_back(data);
        cached_ += block_bytes;
        return;
      } catch (const std::bad_alloc&) {
        // No room to remember the block: it goes back to the system instead.
      }
    }
  }
  system_release(data);
}

size_t HostAllocator::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_;
}

}  // namespace tinynn::cpu
